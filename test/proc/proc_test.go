package proc

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The test binary doubles as a harness that starts a long-running child, prints
// its pid, and waits to be killed.
const helperEnv = "PROC_TEST_HELPER"

func TestMain(m *testing.M) {
	switch os.Getenv(helperEnv) {
	case "start":
		p, err := Start("/bin/sleep", []string{"600"}, Options{})
		helperReport(p.Pid(), err)
	case "guard":
		// What envtest does: its own process group, no Pdeathsig.
		cmd := exec.Command("/bin/sleep", "600")
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		err := cmd.Start()
		if err == nil {
			_, err = GuardChildren("sleep")
		}
		helperReport(cmd.Process.Pid, err)
	default:
		os.Exit(m.Run())
	}
}

func helperReport(pid int, err error) {
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Println(pid)
	select {}
}

// TestChildrenDieWithTheHarness SIGKILLs a harness (nothing of it runs after
// that) and checks its child goes too: started by Start, or started by someone
// else and handed to GuardChildren.
func TestChildrenDieWithTheHarness(t *testing.T) {
	for _, mode := range []string{"start", "guard"} {
		t.Run(mode, func(t *testing.T) {
			harness := exec.Command(os.Args[0], "-test.run=^$")
			harness.Env = append(os.Environ(), helperEnv+"="+mode)
			out, err := harness.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := harness.Start(); err != nil {
				t.Fatal(err)
			}
			line, _ := bufio.NewReader(out).ReadString('\n')
			child, err := strconv.Atoi(strings.TrimSpace(line))
			if err != nil {
				_ = harness.Process.Kill()
				t.Fatalf("harness printed %q", line)
			}
			if !Alive(child) {
				t.Fatalf("child %d is not running before the harness dies", child)
			}
			_ = harness.Process.Kill()
			_ = harness.Wait()
			deadline := time.Now().Add(10 * time.Second)
			for Alive(child) {
				if time.Now().After(deadline) {
					_ = syscall.Kill(child, syscall.SIGKILL)
					t.Fatalf("child %d outlived its harness by 10s", child)
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
}

func TestStopEndsAProcessThatIgnoresSIGTERM(t *testing.T) {
	p, err := Start("/bin/sh", []string{"-c", "trap '' TERM; while :; do sleep 0.1; done"}, Options{StopTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	p.Stop()
	if !p.Exited() {
		t.Fatal("Stop returned with the process running")
	}
}
