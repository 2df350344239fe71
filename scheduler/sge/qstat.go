package sge

import (
	"encoding/xml"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jt-sh/jt/scheduler"
	"github.com/jt-sh/jt/templates"
	"github.com/jt-sh/jt/validate"
	"github.com/jt-sh/jt/visible"
)

// The status script's first block carries, in its log, qstat -xml of the
// user's jobs and qstat -j ID -xml of each jt job, as qstat wrote them,
// after the remote's clock (<jt_now>SECONDS</jt_now>). They are read here
// and each value held to a grammar before use.

type jobList struct {
	Number string `xml:"JB_job_number"`
	Name   string `xml:"JB_name"`
	State  string `xml:"state"`
	Queue  string `xml:"queue_name"`
}

type jobInfo struct {
	Running []jobList `xml:"queue_info>job_list"`
	Pending []jobList `xml:"job_info>job_list"`
}

type detail struct {
	Number string `xml:"JB_job_number"`
	Hard   []struct {
		Name   string `xml:"CE_name"`
		Value  string `xml:"CE_doubleval"`
		String string `xml:"CE_stringval"`
	} `xml:"JB_hard_resource_list>qstat_l_requests"`
	PE     string   `xml:"JB_pe"`
	Slots  string   `xml:"JB_pe_range>ranges>RN_min"`
	Queues []string `xml:"JB_hard_queue_list>destin_ident_list>QR_name"`
	Tasks  []struct {
		Start    string   `xml:"JAT_start_time"`
		Messages []string `xml:"JAT_message_list>ulong_sublist>QIM_message"`
	} `xml:"JB_ja_tasks>ulong_sublist"`
}

type detailedInfo struct {
	Jobs     []detail `xml:"djob_info>element"`
	Messages []struct {
		Jobs    []string `xml:"MES_job_number_list>ulong_sublist>ULNG_value"`
		Message string   `xml:"MES_message"`
	} `xml:"messages>element>SME_message_list>element"`
}

var (
	jobIDRE   = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[0-9]{1,12}$`) })
	stateRE   = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z]{1,8}$`) })
	hostRE    = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_])?$`) }) // and at most 253 long
	nonceRE   = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[0-9a-f]{1,64}$`) })
	numberRE  = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[0-9]{1,12}$`) })
	reasonMax = 200
	// A complex's name, a value of a request, a queue or a parallel
	// environment, as Grid Engine writes them.
	complexRE  = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}$`) })
	resourceRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9_.:@,+-]{1,128}$`) })
)

// qstatDocs splits a log into its XML documents, and reads the clock.
func qstatDocs(log []string) (docs []string, now int64) {
	var cur []string
	flush := func() {
		if len(cur) > 0 {
			docs = append(docs, strings.Join(cur, "\n"))
		}
		cur = nil
	}
	for _, l := range log {
		if s, ok := strings.CutPrefix(l, "<jt_now>"); ok {
			now, _ = strconv.ParseInt(strings.TrimSuffix(s, "</jt_now>"), 10, 64)
			continue
		}
		if strings.HasPrefix(l, "<?xml") {
			flush()
		}
		cur = append(cur, l)
	}
	flush()
	return docs, now
}

// parseQstat reads the documents into jobs by id, in qstat's order.
func parseQstat(log []string) []scheduler.Job {
	docs, now := qstatDocs(log)
	var jobs []scheduler.Job
	details := map[string]detail{}
	reasons := map[string]string{}
	for _, d := range docs {
		switch {
		case strings.Contains(d, "<detailed_job_info"):
			var di detailedInfo
			if xml.Unmarshal([]byte(d), &di) != nil {
				continue
			}
			for _, j := range di.Jobs {
				details[j.Number] = j
			}
			for _, m := range di.Messages {
				for _, id := range m.Jobs {
					if reasons[id] == "" {
						reasons[id] = m.Message
					}
				}
			}
		case strings.Contains(d, "<job_info"):
			var ji jobInfo
			if xml.Unmarshal([]byte(d), &ji) != nil {
				continue
			}
			for _, l := range append(ji.Running, ji.Pending...) {
				if j, ok := listed(l); ok {
					jobs = append(jobs, j)
				}
			}
		}
	}
	for i := range jobs {
		j := &jobs[i]
		d, ok := details[j.ID]
		if !ok {
			continue
		}
		j.Reason = reasons[j.ID]
		hrt, start := -1, int64(0)
		for _, ce := range d.Hard {
			if ce.Name == "h_rt" {
				if v, err := strconv.ParseFloat(ce.Value, 64); err == nil && v >= 0 && v < 1e9 {
					hrt = int(v)
				}
			}
		}
		for _, t := range d.Tasks {
			if numberRE().MatchString(t.Start) {
				start, _ = strconv.ParseInt(t.Start, 10, 64)
			}
			if strings.Contains(j.State, "E") && len(t.Messages) > 0 {
				j.Reason = errorReason(t.Messages[0])
			}
		}
		j.Reason = visible.Text(j.Reason, reasonMax)
		j.Resources = got(d, hrt)
		if hrt >= 0 {
			j.Limit = clock(hrt)
			if j.Phase == scheduler.Running && start > 0 && now > 0 {
				j.Left = (time.Duration(max(int64(hrt)-(now-start), 0)) * time.Second).String()
			}
		}
	}
	return jobs
}

// got is what a job asked Grid Engine for, in its words: slots of a
// parallel environment, -l requests (h_vmem, h_rt as H:MM:SS, a gpu
// complex), -q; values not as Grid Engine writes them are left out.
func got(d detail, hrt int) string {
	var pairs []string
	if resourceRE().MatchString(d.PE) && numberRE().MatchString(d.Slots) {
		pairs = append(pairs, "pe", d.PE, "slots", d.Slots)
	}
	for _, ce := range d.Hard {
		switch {
		case ce.Name == "h_rt" && hrt >= 0:
			pairs = append(pairs, "h_rt", clock(hrt))
		case ce.Name != "h_rt" && complexRE().MatchString(ce.Name) && resourceRE().MatchString(ce.String):
			pairs = append(pairs, ce.Name, ce.String)
		}
	}
	if q := strings.Join(d.Queues, ","); resourceRE().MatchString(q) {
		pairs = append(pairs, "queue", q)
	}
	return scheduler.Got(pairs...)
}

// listed is one job of qstat -xml's listing; ok is false for a job that
// is not jt's or a value that is not what Grid Engine writes.
func listed(l jobList) (scheduler.Job, bool) {
	name, ok := strings.CutPrefix(l.Name, "jt-")
	if !ok || !validate.IsName(name) || !jobIDRE().MatchString(l.Number) || !stateRE().MatchString(l.State) {
		return scheduler.Job{}, false
	}
	j := scheduler.Job{ID: l.Number, Name: name, State: l.State, Phase: phase(l.State)}
	if _, host, ok := strings.Cut(l.Queue, "@"); ok && len(host) <= 253 && hostRE().MatchString(host) {
		j.Node = host
	}
	return j, true
}

// errorReason drops the date and process of a task's error message:
// "12/01/2026 13:47:22 [1004:19759]: error: can't chdir to /x".
func errorReason(m string) string {
	if i := strings.Index(m, "]: "); i >= 0 && i < 40 {
		return m[i+3:]
	}
	return m
}

// Jobs joins the status script's answer: qstat's jobs, jt's files of each
// (its nonce, and where Jupyter listens), and the accounting of recorded
// jobs qstat no longer lists.
func (SGE) Jobs(blocks []templates.Block) []scheduler.Job {
	var jobs []scheduler.Job
	type file struct {
		templates.BatchStatusAnswer
		server *templates.ServerInfo
	}
	files := map[string]file{}
	for _, b := range blocks {
		a := b.BatchStatus()
		switch {
		case b.Error:
		case a.Source == "qstat":
			jobs = append(jobs, parseQstat(b.Log)...)
		case a.State != "":
			j := scheduler.Job{ID: a.Job, State: a.State, Reason: a.Reason, Phase: scheduler.Ended}
			if j.State == "gone" {
				j.Phase = scheduler.Gone
			}
			jobs = append(jobs, j)
		case a.Job != "":
			files[a.Job] = file{a, b.Server}
		}
	}
	for i := range jobs {
		j := &jobs[i]
		f, ok := files[j.ID]
		if !ok || (j.Name != "" && f.Name != j.Name) {
			continue
		}
		if nonceRE().MatchString(f.Nonce) {
			j.Nonce = f.Nonce
		}
		j.Idle = f.Idle && j.Phase != scheduler.Running && j.Phase != scheduler.Queued
		if j.Phase == scheduler.Running {
			j.Addr, j.Dir, j.Port = f.InfoAddr, f.InfoDir, f.InfoPort
			if f.server != nil {
				j.PID = f.server.PID
			}
			if f.InfoStarted != 0 {
				j.Started = time.Unix(f.InfoStarted, 0).UTC()
			}
		}
	}
	return jobs
}
