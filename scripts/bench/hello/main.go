// Command hello is the floor under jt --help: a Go program built the same
// way that prints one line and exits (scripts/bench times both).
package main

import "fmt"

func main() { fmt.Println("hello") }
