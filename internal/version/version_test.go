package version

import (
	"bytes"
	"runtime/debug"
	"testing"
)

func TestResolve(t *testing.T) {
	info := func(bi *debug.BuildInfo, ok bool) func() (*debug.BuildInfo, bool) {
		return func() (*debug.BuildInfo, bool) { return bi, ok }
	}
	main := func(v string) *debug.BuildInfo {
		return &debug.BuildInfo{Main: debug.Module{Path: modulePath, Version: v}}
	}
	dep := func(v string, replace *debug.Module) *debug.BuildInfo {
		return &debug.BuildInfo{
			Main: debug.Module{Path: "example.com/ext", Version: "v3.0.0"},
			Deps: []*debug.Module{{Path: "example.com/other", Version: "v0.9.0"}, {Path: modulePath, Version: v, Replace: replace}},
		}
	}
	tests := []struct {
		name    string
		stamped string
		read    func() (*debug.BuildInfo, bool)
		want    string
	}{
		{"stamped wins", "v9.8.7-test", info(main("v1.0.0"), true), "v9.8.7-test"},
		{"no build info", "", info(nil, false), Fallback},
		{"main module tagged", "", info(main("v1.2.3"), true), "v1.2.3"},
		{"main module pseudo-version", "", info(main("v0.0.0-20260101000000-abcdefabcdef+dirty"), true),
			"v0.0.0-20260101000000-abcdefabcdef+dirty"},
		{"main module without version", "", info(main("(devel)"), true), Fallback},
		{"main module empty version", "", info(main(""), true), Fallback},
		{"dependency", "", info(dep("v1.4.0", nil), true), "v1.4.0"},
		{"dependency replaced by a version", "", info(dep("v1.4.0", &debug.Module{Path: "example.com/fork", Version: "v1.4.1"}), true), "v1.4.1"},
		{"dependency replaced by a directory", "", info(dep("v1.4.0", &debug.Module{Path: "../imager"}), true), Fallback},
		{"not in the build", "", info(&debug.BuildInfo{Main: debug.Module{Path: "example.com/x", Version: "v2.0.0"}}, true), Fallback},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := resolve(tt.stamped, tt.read); got != tt.want {
				t.Errorf("resolve(%q) = %q, want %q", tt.stamped, got, tt.want)
			}
		})
	}
}

func TestPrint(t *testing.T) {
	var b bytes.Buffer
	if err := Print(&b); err != nil {
		t.Fatal(err)
	}
	if got, want := b.String(), String()+"\n"; got != want {
		t.Errorf("Print wrote %q, want %q", got, want)
	}
	if String() == "" {
		t.Error("String() is empty")
	}
}
