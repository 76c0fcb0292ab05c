//go:build !unix

package execrun

import "os/exec"

// setProcessGroup leaves cmd as it is: without Unix process groups,
// cancellation kills the program alone (exec.CommandContext's default).
func setProcessGroup(cmd *exec.Cmd) {}

// killGroup does nothing where there are no process groups to kill.
func killGroup(cmd *exec.Cmd) error { return nil }
