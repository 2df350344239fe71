//go:build linux

package main

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// row is one line of the result table (and of the JSON file).
type row struct {
	Operation string    `json:"operation"`
	Unit      string    `json:"unit"` // "ms" or "MB"
	Samples   []float64 `json:"samples"`
	Median    float64   `json:"median"`
	FloorName string    `json:"floor_name,omitempty"`
	Floor     float64   `json:"floor,omitempty"`
	Ratio     float64   `json:"ratio,omitempty"`
	// SSHProcs and RoundTrips are per run; nil where they do not apply.
	SSHProcs   []int `json:"ssh_procs,omitempty"`
	RoundTrips []int `json:"round_trips,omitempty"`
	// jt rows, per run: the ssh calls, how long each took, and the time
	// no ssh ran (jt's own work, and waiting on probes).
	SSHCalls     [][]string  `json:"ssh_calls,omitempty"`
	SSHCallMS    [][]float64 `json:"ssh_call_ms,omitempty"`
	OutsideSSHMS []float64   `json:"outside_ssh_ms,omitempty"`
	Target       float64     `json:"target,omitempty"`
	TargetText   string      `json:"target_text,omitempty"`
	Pass         *bool       `json:"pass,omitempty"`
	HWMKB        int64       `json:"jt_vmhwm_kb,omitempty"` // jt's own peak (VmHWM), sampled
	Note         string      `json:"note,omitempty"`

	counted bool // ssh calls are counted (shown even when there are none)
	jt      bool // a run of jt (its ssh calls are listed, its RSS is jt's)
}

// add records one timed run.
func (r *row) add(o outcome) {
	r.Samples = append(r.Samples, ms(o.Dur))
	r.Median = median(r.Samples)
	if r.counted {
		r.SSHProcs = append(r.SSHProcs, len(o.Calls))
		r.RoundTrips = append(r.RoundTrips, roundTrips(o.Calls))
	}
	if r.jt {
		r.SSHCalls = append(r.SSHCalls, o.Calls)
		r.SSHCallMS = append(r.SSHCallMS, o.CallMS)
		r.OutsideSSHMS = append(r.OutsideSSHMS, ms(o.Dur)-o.InSSHMS)
	}
	r.HWMKB = max(r.HWMKB, o.HWMKB)
}

// floorOf sets the row's floor and its ratio to it.
func (r *row) floorOf(name string, floor float64) {
	r.FloorName, r.Floor = name, floor
	if floor > 0 {
		r.Ratio = r.Median / floor
	}
}

// atMost sets an upper target (inclusive) and whether the median meets it.
func (r *row) atMost(target float64, text string) {
	pass := r.Median <= target
	r.Target, r.TargetText, r.Pass = target, text, &pass
}

// below sets a strict upper target.
func (r *row) below(target float64, text string) {
	pass := r.Median < target
	r.Target, r.TargetText, r.Pass = target, text, &pass
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func fmtVal(v float64, unit string) string {
	if unit == "MB" {
		return fmt.Sprintf("%.1f MB", v)
	}
	return fmt.Sprintf("%.1f ms", v)
}

// fmtCount shows the median count, or the range when runs differ.
func fmtCount(xs []int, counted bool) string {
	if len(xs) == 0 {
		if counted {
			return "0"
		}
		return "-"
	}
	lo, hi := slices.Min(xs), slices.Max(xs)
	if lo == hi {
		return strconv.Itoa(lo)
	}
	return fmt.Sprintf("%d-%d", lo, hi)
}

// printTable writes the aligned result table.
func printTable(w io.Writer, rows []*row) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "operation\tmedian\tfloor\tratio\tssh procs\tround trips\ttarget\tresult\truns")
	for _, r := range rows {
		floor, ratio := "-", "-"
		if r.FloorName != "" {
			floor = fmtVal(r.Floor, r.Unit)
			ratio = fmt.Sprintf("%.2fx", r.Ratio)
		}
		target, result := "-", "-"
		if r.Pass != nil {
			target = r.TargetText
			result = "PASS"
			if !*r.Pass {
				result = "FAIL"
			}
		}
		procs, trips := "-", "-"
		if r.counted || r.SSHProcs != nil {
			procs, trips = fmtCount(r.SSHProcs, r.counted), fmtCount(r.RoundTrips, r.counted)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\n", r.Operation, fmtVal(r.Median, r.Unit), floor, ratio,
			procs, trips, target, result, len(r.Samples))
	}
	tw.Flush()
}

// printNotes writes what each floor is and the ssh calls of each jt row.
func printNotes(w io.Writer, rows []*row) {
	fmt.Fprintln(w, "\nfloors, and jt's ssh calls with their median times (round trips = calls that reach the remote: logins, scripts, pings):")
	for _, r := range rows {
		var parts []string
		if r.FloorName != "" {
			parts = append(parts, "floor = "+r.FloorName)
		}
		if r.jt {
			parts = append(parts, "ssh: "+breakdown(r)+fmt.Sprintf("; outside ssh %.1f ms", median(r.OutsideSSHMS)))
		}
		if r.Note != "" {
			parts = append(parts, r.Note)
		}
		if len(parts) > 0 {
			fmt.Fprintf(w, "  %s: %s\n", r.Operation, strings.Join(parts, "; "))
		}
	}
}

// breakdown lists the calls of a jt row with their median times: call by
// call when every run made the same calls, else counted by kind.
func breakdown(r *row) string {
	if len(r.SSHCalls) == 0 || len(r.SSHCalls[len(r.SSHCalls)-1]) == 0 {
		return "none"
	}
	same := true
	for _, c := range r.SSHCalls {
		same = same && slices.Equal(c, r.SSHCalls[0])
	}
	if same && len(r.SSHCalls[0]) <= 6 {
		parts := make([]string, len(r.SSHCalls[0]))
		for i, c := range r.SSHCalls[0] {
			var xs []float64
			for _, run := range r.SSHCallMS {
				xs = append(xs, run[i])
			}
			parts[i] = fmt.Sprintf("%s %.1f", c, median(xs))
		}
		return strings.Join(parts, ", ") + " ms"
	}
	// Counted by kind, over the last run.
	last, lastMS := r.SSHCalls[len(r.SSHCalls)-1], r.SSHCallMS[len(r.SSHCallMS)-1]
	var kinds []string
	times := map[string][]float64{}
	for i, c := range last {
		if times[c] == nil {
			kinds = append(kinds, c)
		}
		times[c] = append(times[c], lastMS[i])
	}
	parts := make([]string, len(kinds))
	for i, k := range kinds {
		parts[i] = fmt.Sprintf("%d × %s (median %.1f ms)", len(times[k]), k, median(times[k]))
	}
	prefix := ""
	if !same {
		prefix = "last run: "
	}
	return prefix + strings.Join(parts, ", ")
}
