package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"runtime/debug"
)

// version and revision are stamped by the image build (-ldflags "-X
// main.version=... -X main.revision=..."), whose context has no .git for
// the go command to read; elsewhere the build info says.
var version, revision string

// buildInfo is what `scimd version` prints, the start logs and
// scimd_build_info exports.
type buildInfo struct {
	Version   string // module version: a tag, a pseudo-version, or (devel)
	Revision  string // VCS commit, "+dirty" when built from a modified tree
	GoVersion string
}

func (b buildInfo) String() string {
	return fmt.Sprintf("scimd %s (revision %s, %s)", b.Version, b.Revision, b.GoVersion)
}

func readBuildInfo() buildInfo {
	b := buildInfo{Version: "(devel)", Revision: "unknown", GoVersion: "unknown"}
	if bi, ok := debug.ReadBuildInfo(); ok {
		b.GoVersion = bi.GoVersion
		if bi.Main.Version != "" {
			b.Version = bi.Main.Version
		}
		dirty := false
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				b.Revision = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
		if dirty && b.Revision != "unknown" {
			b.Revision += "+dirty"
		}
	}
	if version != "" {
		b.Version = version
	}
	if revision != "" {
		b.Revision = revision
	}
	return b
}

func runVersion(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("scimd version", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), "Usage: scimd version (or scimd --version)\n\nPrints the module version, the VCS revision and the Go version scimd was built with.\n")
	}
	if code := parseFlags(fs, args); code >= 0 {
		return code
	}
	fmt.Fprintln(stdout, readBuildInfo())
	return 0
}
