// Package desktop is the laptop's side of what the user sees outside the
// terminal: the browser jt opens (through a 0600 redirect page, so the
// token is on no command line) and the desktop notifications of the
// keeper. It picks the tool per platform and never fails for want of one.
package desktop
