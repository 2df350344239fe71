package main

import (
	"fmt"

	"github.com/jt-sh/jt/templates"
)

func main() {
	s, err := templates.Render(templates.List{LogLines: 0})
	if err != nil {
		panic(err)
	}
	fmt.Print(s)
	a, _ := templates.Render(templates.Activity{Sessions: []templates.ActivityOf{{Name: "w"}, {Name: "x", Scheduler: "slurm", Nonce: "ab"}}})
	fmt.Print("#ACT\n" + a)
}
