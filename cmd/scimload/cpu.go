package main

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
)

// cpuPID is a process whose CPU time each phase reports per request: the
// scimd under test, and the Redis behind it when it runs on this machine.
type cpuPID struct {
	Name string
	PID  int
}

// cpuPIDs is the repeatable --cpu-pid flag, name=pid.
type cpuPIDs []cpuPID

func (c *cpuPIDs) String() string {
	parts := make([]string, len(*c))
	for i, p := range *c {
		parts[i] = p.Name + "=" + strconv.Itoa(p.PID)
	}
	return strings.Join(parts, ",")
}

func (c *cpuPIDs) Set(v string) error {
	name, pid, ok := strings.Cut(v, "=")
	n, err := strconv.Atoi(pid)
	if !ok || name == "" || err != nil || n <= 0 {
		return errors.New("want name=pid, e.g. scimd=1234")
	}
	if runtime.GOOS != "linux" {
		return errors.New("needs /proc (Linux)")
	}
	*c = append(*c, cpuPID{Name: name, PID: n})
	return nil
}

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat's times: 100 on
// every Linux architecture Go supports.
const clockTicks = 100

// cpuTicks reads a process's user+system time, in clock ticks, from
// /proc/<pid>/stat.
func cpuTicks(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) is in parentheses and may hold spaces:
	// count fields after its closing parenthesis.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	f := strings.Fields(s[i+1:])
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f)+2)
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: utime/stime not numbers", pid)
	}
	return ut + st, nil
}

// cpuSample reads every process's ticks; a process that cannot be read
// counts -1 (its figure is then left out).
func cpuSample(pids cpuPIDs) []int64 {
	out := make([]int64, len(pids))
	for i, p := range pids {
		t, err := cpuTicks(p.PID)
		if err != nil {
			t = -1
		}
		out[i] = t
	}
	return out
}
