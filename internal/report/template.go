package report

import "html/template"

// pageStyle is the page's inline style sheet: system fonts only, so the
// page fetches nothing.
const pageStyle = `
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
  color: #222; background: #fafafa; margin: 0; }
main { max-width: 940px; margin: 0 auto; padding: 16px 20px 40px; }
h1 { font-size: 1.5em; margin: 0.4em 0; }
h2 { font-size: 1.2em; margin: 1.6em 0 0.5em; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
table { border-collapse: collapse; margin: 0.4em 0; background: #fff; }
th, td { border: 1px solid #ddd; padding: 3px 9px; text-align: left; vertical-align: top; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
th { background: #f0f0f0; font-weight: 600; }
.grid { display: flex; flex-wrap: wrap; gap: 12px 24px; align-items: flex-start; }
.verdict { font-size: 1.3em; font-weight: 700; padding: 8px 12px; border-radius: 4px; margin: 12px 0 4px; }
.verdict.pass { background: #e3f4e5; color: #1b6e2a; border: 1px solid #9fd3a8; }
.verdict.fail { background: #fbe4e4; color: #a11d1d; border: 1px solid #e9a3a3; }
.verdict.cut { background: #fff4d6; color: #7a5600; border: 1px solid #e8cf86; }
td.pass { color: #1b6e2a; font-weight: 600; }
td.fail { color: #a11d1d; font-weight: 700; }
td.cut { color: #7a5600; }
code { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 0.9em; }
.flags { line-height: 1.6; }
.flags code { display: inline-block; max-width: 100%; overflow-wrap: anywhere; line-height: 1.4;
  background: #eef0f3; border: 1px solid #dde1e6; border-radius: 3px; padding: 1px 5px; margin: 2px 0; }
.swatch { display: inline-block; width: 10px; height: 10px; margin-right: 6px; }
figure { margin: 18px 0; background: #fff; border: 1px solid #e2e2e2; padding: 6px; }
figure svg { max-width: 100%; height: auto; display: block; }
figcaption { color: #555; font-size: 0.9em; padding: 4px 6px; }
.note { color: #555; font-style: italic; }
.msg { word-break: break-word; max-width: 640px; }
`

// pageTemplate is the report page. html/template escapes every value
// from the results file; the charts' SVG is built and escaped by this
// package.
var pageTemplate = template.Must(template.New("report").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>` + pageStyle + `</style>
</head>
<body>
<main>
<h1>{{.Title}}</h1>
<div class="verdict {{.Verdict.Class}}">{{.Verdict.Text}}</div>
{{with .Verdict.Detail}}<p>{{.}}</p>{{end}}
{{range .Notes}}<p class="note">{{.}}</p>{{end}}

<div class="grid">
<table class="run"><tbody>
{{range .Header}}<tr><th>{{.Key}}</th><td>{{.Value}}</td></tr>
{{end}}</tbody></table>
</div>
{{if .Flags}}<p class="flags">Flags: {{range .Flags}}<code>{{.Key}}={{.Value}}</code> {{end}}</p>{{else}}<p class="note">No flags recorded.</p>{{end}}

<h2>Summary</h2>
<div class="grid">
<table class="summary"><tbody>
{{range .Summary}}<tr><th>{{.Key}}</th><td class="n">{{.Value}}</td></tr>
{{end}}</tbody></table>
<table class="outcomes"><thead><tr><th>outcome</th><th class="n">requests</th><th class="n">of planned</th></tr></thead><tbody>
{{range .Outcomes}}<tr><td><span class="swatch" style="background: {{.Color}}"></span>{{.Name}}</td><td class="n">{{.Count}}</td><td class="n">{{.Share}}</td></tr>
{{end}}</tbody></table>
</div>
<table class="quantiles"><thead><tr><th></th>{{range .QuantHeads}}<th class="n">{{.}}</th>{{end}}</tr></thead><tbody>
{{range .Quantiles}}<tr><th>{{.Label}}</th>{{range .Values}}<td class="n">{{.}}</td>{{end}}</tr>
{{end}}</tbody></table>
<p class="note">{{.QuantNote}}</p>

<h2>Charts</h2>
{{range .Charts}}<figure id="chart-{{.Name}}">{{.SVG}}<figcaption>{{.Caption}}</figcaption></figure>
{{end}}{{with .TargetNote}}<p class="note" id="no-target">{{.}}</p>{{end}}

<h2>Thresholds</h2>
{{if .Thresholds}}<table class="thresholds"><thead><tr><th>expression</th><th>verdict</th><th class="n">measured</th><th class="n">round</th></tr></thead><tbody>
{{range .Thresholds}}<tr><td><code>{{.Expression}}</code></td><td class="{{.Class}}">{{.Verdict}}</td><td class="n">{{.Value}}</td><td class="n">{{.Round}}</td></tr>
{{end}}</tbody></table>{{else}}<p class="note">No thresholds were set.</p>{{end}}

<h2>Top failure reasons</h2>
{{if .Errors}}<table class="errors"><thead><tr><th>reason</th><th class="n">requests</th><th class="n">of failed</th></tr></thead><tbody>
{{range .Errors}}<tr><td class="msg">{{.Key}}</td><td class="n">{{.Count}}</td><td class="n">{{.Share}}</td></tr>
{{end}}</tbody></table>{{else}}<p class="note">No failures were recorded.</p>{{end}}

<h2>Response checks</h2>
{{if .Checks}}<table class="checks"><thead><tr><th>check</th><th class="n">passed</th><th class="n">failed</th><th class="n">pass rate</th></tr></thead><tbody>
{{range .Checks}}<tr{{if .Class}} class="{{.Class}}"{{end}}><td class="msg">{{if .Class}}<strong>{{.Name}}</strong>{{else}}<code>{{.Name}}</code>{{end}}</td><td class="n">{{.Passed}}</td><td class="n">{{.Failed}}</td><td class="n">{{.PassRate}}</td></tr>
{{end}}</tbody></table>{{else}}<p class="note">No response checks ran.</p>{{end}}

<h2>Requests by name</h2>
{{if .Names}}<table class="names"><thead><tr><th>name</th><th class="n">planned</th><th class="n">success</th><th class="n">error rate</th><th class="n">p50</th><th class="n">p99</th></tr></thead><tbody>
{{range .Names}}<tr><td class="msg">{{.Name}}</td><td class="n">{{.Planned}}</td><td class="n">{{.Success}}</td><td class="n">{{.ErrorRate}}</td><td class="n">{{.P50}}</td><td class="n">{{.P99}}</td></tr>
{{end}}</tbody></table>{{else}}<p class="note">The requests had no names.</p>{{end}}

<h2>Status codes</h2>
{{if .Statuses}}<table class="status"><thead><tr><th>status</th><th class="n">responses</th><th class="n">of responses</th></tr></thead><tbody>
{{range .Statuses}}<tr><td>{{.Key}}</td><td class="n">{{.Count}}</td><td class="n">{{.Share}}</td></tr>
{{end}}</tbody></table>{{else}}<p class="note">No responses were received.</p>{{end}}
</main>
</body>
</html>
`))
