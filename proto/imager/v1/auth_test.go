package imagerv1_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	imagerv1 "github.com/PeladoCollado/imager/proto/imager/v1"
)

func TestReadAuthTokenFile(t *testing.T) {
	tests := []struct {
		name    string
		content string
		want    string
		wantErr bool
	}{
		{name: "echo newline", content: "s3cret\n", want: "s3cret"},
		{name: "surrounding whitespace", content: " \t s3cret \r\n\n", want: "s3cret"},
		{name: "inner space kept", content: "two words\n", want: "two words"},
		{name: "no newline", content: "tok", want: "tok"},
		{name: "empty", content: "", wantErr: true},
		{name: "whitespace only", content: " \n\t\r\n", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "token")
			if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			got, err := imagerv1.ReadAuthTokenFile(path)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("ReadAuthTokenFile(%q) = %q, nil; want an error", tt.content, got)
				}
				if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "empty") {
					t.Errorf("ReadAuthTokenFile(%q) error %q, want it to name %s and say empty", tt.content, err, path)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("ReadAuthTokenFile(%q) = %q, %v; want %q, nil", tt.content, got, err, tt.want)
			}
		})
	}
}

func TestReadAuthTokenFileMissing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "absent")
	got, err := imagerv1.ReadAuthTokenFile(path)
	if err == nil {
		t.Fatalf("ReadAuthTokenFile(missing) = %q, nil; want an error", got)
	}
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), path) {
		t.Errorf("ReadAuthTokenFile(missing) error %q, want fs.ErrNotExist naming %s", err, path)
	}
}

func TestTokensMatch(t *testing.T) {
	tests := []struct {
		want, got string
		match     bool
	}{
		{"", "", true},
		{"", "anything", true}, // auth off
		{"s3cret", "s3cret", true},
		{"s3cret", "", false},
		{"s3cret", "S3cret", false},
		{"s3cret", "s3cret ", false},
		{"s3cret", "s3cre", false},
		{"s3cret", "s3crets", false},
		{"s3cret", "nope", false},
	}
	for _, tt := range tests {
		if m := imagerv1.TokensMatch(tt.want, tt.got); m != tt.match {
			t.Errorf("TokensMatch(%q, %q) = %v, want %v", tt.want, tt.got, m, tt.match)
		}
	}
}
