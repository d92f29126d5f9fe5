package app

import (
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/PeladoCollado/imager/orchestrator/manager"
	"github.com/PeladoCollado/imager/types"
)

func TestExpectFlags(t *testing.T) {
	tests := []struct {
		args []string
		want types.Expect
	}{
		{[]string{"-expect-status", "200-299, 304"}, types.Expect{Status: []types.StatusRange{{Lo: 200, Hi: 299}, {Lo: 304, Hi: 304}}}},
		{[]string{"-expect-body-contains", "ok", "-expect-body-contains", `"id":`}, types.Expect{BodyContains: []string{"ok", `"id":`}}},
		{[]string{"-expect-body-regex", `^\{"sum":[0-9]+\}$`}, types.Expect{BodyRegex: `^\{"sum":[0-9]+\}$`}},
		{
			[]string{"-expect-json", "data.id=7", "-expect-json", "status=ok", "-expect-json", `$.tags=["a"]`, "-expect-json", `["a=b"]=true`, "-expect-json", "empty="},
			types.Expect{JSON: map[string]json.RawMessage{
				"data.id": json.RawMessage(`7`), "status": json.RawMessage(`"ok"`), "$.tags": json.RawMessage(`["a"]`),
				`["a=b"]`: json.RawMessage(`true`), "empty": json.RawMessage(`""`),
			}},
		},
		{
			[]string{"-expect-header", "Content-Type: application/json", "-expect-header", "ETag", "-expect-header", "X-Empty:"},
			types.Expect{Header: map[string]types.HeaderMatch{"Content-Type": {Value: "application/json"}, "ETag": {Present: true}, "X-Empty": {}}},
		},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			e, errs := mustParse(t, append(tt.args, adHocURL...)...).expectFlags()
			if len(errs) > 0 {
				t.Fatal(errs)
			}
			if e == nil || !reflect.DeepEqual(*e, tt.want) {
				t.Fatalf("got %+v, want %+v", e, tt.want)
			}
			if err := e.Validate(); err != nil {
				t.Errorf("Validate: %v", err)
			}
		})
	}
	if e, errs := mustParse(t, adHocURL...).expectFlags(); e != nil || errs != nil {
		t.Errorf("no -expect-* flags: got %+v, %v; want no checks", e, errs)
	}
}

func TestExpectFlagsRefused(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"-expect-status", "2xx"}, `-expect-status: "2xx" is not a status code or range`},
		{[]string{"-expect-status", "200,"}, `-expect-status: "" is not a status code or range`},
		{[]string{"-expect-status", "299-200"}, `-expect-status: "299-200": the range starts above its end`},
		{[]string{"-expect-status", "700"}, `-expect-status: "700": status codes run from 100 to 599`},
		{[]string{"-expect-body-contains", ""}, `-expect-body-contains: the text is empty`},
		{[]string{"-expect-body-regex", "("}, `-expect-body-regex "(": missing closing )`},
		{[]string{"-expect-json", "data.id"}, `-expect-json "data.id": want PATH=VALUE`},
		{[]string{"-expect-json", "a..b=1"}, `-expect-json "a..b=1": JSON path "a..b" has an empty member name`},
		{[]string{"-expect-json", "a.b=1", "-expect-json", "$.a.b=2"}, `-expect-json "$.a.b=2": the path names the same value as in "a.b=1"`},
		{[]string{"-expect-header", "Bad Name: x"}, `-expect-header "Bad Name: x": the name "Bad Name" is not a valid HTTP token`},
		{[]string{"-expect-header", "ETag", "-expect-header", "etag: x"}, `-expect-header "etag: x": header etag is checked by "ETag" too`},
		{[]string{"-expect-header", "X-A: a\x01"}, `-expect-header "X-A: a\x01": the value "a\x01" holds the control character 0x01`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			_, err := parse("orchestrator", append(tt.args, adHocURL...), io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v\nwant an error containing %s", err, tt.want)
			}
		})
	}
	// Every problem at once, beside the other flags' problems.
	_, err := parse("orchestrator", []string{"-target-mode=url", "-expect-status=1", "-expect-body-regex=[", "-expect-json=x"}, io.Discard)
	for _, want := range []string{"-target-url", "-expect-status", "-expect-body-regex", "-expect-json"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("got %v, want a problem naming %s", err, want)
		}
	}
}

// fakeBatch is a batch source with a round hook; its requests carry the
// checks own when set.
type fakeBatch struct {
	own    *types.Expect
	rounds []int64
}

var (
	_ types.BatchSource = (*fakeBatch)(nil)
	_ types.RoundHook   = (*fakeBatch)(nil)
)

func (f *fakeBatch) Next() (types.RequestSpec, error) {
	return types.RequestSpec{Method: "GET", Path: "/", Expect: f.own}, nil
}
func (f *fakeBatch) Reset() error           { return nil }
func (f *fakeBatch) BeginRound(index int64) { f.rounds = append(f.rounds, index) }
func (f *fakeBatch) NextBatch(n int) ([]types.RequestSpec, error) {
	out := make([]types.RequestSpec, n)
	for i := range out {
		out[i], _ = f.Next()
		if i%2 == 1 {
			out[i].Expect = nil
		}
	}
	return out, nil
}

func TestWithExpect(t *testing.T) {
	flags := &types.Expect{Status: []types.StatusRange{{Lo: 200, Hi: 299}}}
	own := &types.Expect{BodyContains: []string{"mine"}}
	inner := &fakeBatch{own: own}
	src := withExpect(inner, flags)
	bs, ok := src.(types.BatchSource)
	if !ok {
		t.Fatalf("%T lost the inner source's NextBatch", src)
	}
	if spec, _ := src.Next(); spec.Expect != own {
		t.Errorf("a request with its own expect got %+v", spec.Expect)
	}
	batch, _ := bs.NextBatch(4)
	for i, spec := range batch {
		want := own
		if i%2 == 1 {
			want = flags
		}
		if spec.Expect != want {
			t.Errorf("batch[%d]: expect %+v, want %+v", i, spec.Expect, want)
		}
	}
	src.(types.RoundHook).BeginRound(3)
	if !reflect.DeepEqual(inner.rounds, []int64{3}) {
		t.Errorf("BeginRound reached the inner source as %v", inner.rounds)
	}
	inner.own = nil
	if spec, _ := src.Next(); spec.Expect != flags {
		t.Errorf("a request without expect got %+v, want the flags' checks", spec.Expect)
	}
	// A source without NextBatch is not made to look like one.
	plain := withExpect(struct{ types.RequestSource }{inner}, flags)
	if _, ok := plain.(types.BatchSource); ok {
		t.Errorf("%T claims NextBatch its source lacks", plain)
	}
	if withExpect(inner, nil) != types.RequestSource(inner) {
		t.Error("no checks should leave the source as it is")
	}
}

// The flags' checks reach the requests of a request file without an
// expect of their own, and a dry run shows every request's checks.
func TestDryRunShowsExpect(t *testing.T) {
	file := filepath.Join(t.TempDir(), "requests.json")
	content := `{"method":"GET","path":"/a"}
{"method":"GET","path":"/b","expect":{"status":204,"name":"b"}}
`
	if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := mustParse(t, "-target-mode=url", "-target-url=http://127.0.0.1:8080", "-rate=1", "-request-source-file="+file,
		"-expect-status=200-299", "-expect-body-contains=ok")
	out, err := DryRun(cfg, manager.SyntheticTarget{}, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range out.Requests {
		b, err := json.Marshal(r.Expect)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, string(b))
	}
	want := []string{`{"status":["200-299"],"body_contains":"ok"}`, `{"name":"b","status":[204]}`}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("expects %q, want %q", got, want)
	}
}

// A scenario's bad expect table is refused in a dry run as other bad
// request tables are: with the scenario's position.
func TestDryRunRefusesBadLuaExpect(t *testing.T) {
	scenario := filepath.Join(t.TempDir(), "scenario.lua")
	src := "function request()\n  return {path = '/', expect = {body_regex = 'a('}}\nend\n"
	if err := os.WriteFile(scenario, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := mustParse(t, "-target-mode=url", "-target-url=http://127.0.0.1:8080", "-rate=1", "-scenario="+scenario)
	_, err := DryRun(cfg, manager.SyntheticTarget{}, 1, 1)
	if err == nil || !strings.Contains(err.Error(), `scenario.lua:1: request() returned expect.body_regex: "a(" is not an RE2 regular expression`) {
		t.Fatalf("got %v, want the scenario's position and the key", err)
	}
}
