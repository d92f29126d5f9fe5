{{/* The prefix of every object's name: the release name, with "-imager"
appended unless it already says imager. */}}
{{- define "imager.fullname" -}}
{{- if contains "imager" .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-imager" .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "imager.orchestrator" -}}{{ include "imager.fullname" . }}-orchestrator{{- end -}}
{{- define "imager.executor" -}}{{ include "imager.fullname" . }}-executor{{- end -}}

{{/* Labels of every object. */}}
{{- define "imager.labels" -}}
app.kubernetes.io/part-of: imager
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{/* Selector labels of the orchestrator's and the executors' pods. */}}
{{- define "imager.orchestratorSelector" -}}
app.kubernetes.io/name: imager-orchestrator
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}
{{- define "imager.executorSelector" -}}
app.kubernetes.io/name: imager-executor
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "imager.targetNamespace" -}}{{ .Values.target.namespace | default .Release.Namespace }}{{- end -}}

{{/* The existing token Secret named by the values, or "" (the chart
makes one). auth.existingSecret is the value's old name. */}}
{{- define "imager.tokenExistingSecret" -}}
{{- .Values.controlPlane.token.existingSecret | default (dig "auth" "existingSecret" "" .Values.AsMap) -}}
{{- end -}}

{{- define "imager.tokenSecret" -}}
{{- include "imager.tokenExistingSecret" . | default (printf "%s-control-token" (include "imager.fullname" .)) -}}
{{- end -}}

{{/* The Secrets of control-plane TLS: the orchestrator's certificate
(tls.crt, tls.key) with the CA (ca.crt), and the executors' client
certificate. */}}
{{- define "imager.tlsSecret" -}}
{{- .Values.controlPlane.tls.existingSecret | default (printf "%s-control-tls" (include "imager.fullname" .)) -}}
{{- end -}}
{{- define "imager.clientTLSSecret" -}}
{{- .Values.controlPlane.tls.clientSecret | default (printf "%s-executor-tls" (include "imager.fullname" .)) -}}
{{- end -}}

{{- define "imager.isJob" -}}
{{- if eq .Values.form "job" }}true{{ else if eq .Values.form "deployment" }}{{ else }}{{ fail (printf "form must be job or deployment, not %q" .Values.form) }}{{ end -}}
{{- end -}}

{{/* Checks of values the templates rely on. */}}
{{- define "imager.validate" -}}
{{- $mode := .Values.target.mode -}}
{{- if not (has $mode (list "pod" "service" "url")) }}{{ fail (printf "target.mode must be pod, service or url, not %q" $mode) }}{{ end -}}
{{- if and (eq $mode "pod") (not .Values.target.deployment) }}{{ fail "target.deployment is required in pod mode" }}{{ end -}}
{{- if and (eq $mode "service") (not .Values.target.service) }}{{ fail "target.service is required in service mode" }}{{ end -}}
{{- if and (eq $mode "url") (not .Values.target.url) }}{{ fail "target.url is required in url mode" }}{{ end -}}
{{- $src := .Values.requests.source -}}
{{- if not (has $src (list "file" "random-sum" "scenario")) }}{{ fail (printf "requests.source must be file, random-sum or scenario, not %q" $src) }}{{ end -}}
{{- if and (eq $src "file") (not .Values.requests.file) }}{{ fail "requests.file is empty" }}{{ end -}}
{{- if and (eq $src "scenario") (not (hasKey .Values.requests.scenario.files .Values.requests.scenario.main)) }}{{ fail (printf "requests.scenario.files has no %q (requests.scenario.main)" .Values.requests.scenario.main) }}{{ end -}}
{{- if lt (int .Values.executors.count) 1 }}{{ fail "executors.count must be at least 1" }}{{ end -}}
{{- if and .Values.networkPolicy.enabled (ne .Values.target.mode "url") (not .Values.networkPolicy.apiServerPorts) }}{{ fail "networkPolicy.apiServerPorts must be the ports of the Kubernetes API (usually 443 and 6443), not empty: the orchestrator could not reach the API" }}{{ end -}}
{{- if and .Values.controlPlane.tls.clientAuth (not .Values.controlPlane.tls.enabled) }}{{ fail "controlPlane.tls.enabled must be true when controlPlane.tls.clientAuth is: client certificates need TLS" }}{{ end -}}
{{- end -}}

{{/* The orchestrator's command-line flags, one list item each. */}}
{{- define "imager.orchestratorArgs" -}}
{{- $v := .Values -}}
- -target-mode={{ $v.target.mode }}
{{- if eq $v.target.mode "url" }}
- {{ printf "-target-url=%s" $v.target.url | quote }}
{{- else }}
- -target-namespace={{ include "imager.targetNamespace" . }}
{{- if eq $v.target.mode "pod" }}
- -target-deployment={{ $v.target.deployment }}
{{- else }}
- -target-service={{ $v.target.service }}
{{- with $v.target.serviceHost }}
- {{ printf "-service-host=%s" . | quote }}
{{- end }}
{{- end }}
- -target-port-name={{ $v.target.portName }}
{{- end }}
{{- if eq $v.requests.source "file" }}
- -request-source-type=file
- -request-source-file=/config/requests.json
{{- else if eq $v.requests.source "random-sum" }}
- -request-source-type=random-sum
- {{ printf "-random-sum-path=%s" $v.requests.randomSum.path | quote }}
- -random-sum-min={{ int64 $v.requests.randomSum.min }}
- -random-sum-max={{ int64 $v.requests.randomSum.max }}
{{- else }}
- -request-source-type=lua
- -scenario=/scenario/{{ $v.requests.scenario.main }}
{{- with $v.requests.scenario.options }}
- {{ printf "-scenario-options=%s" . | quote }}
{{- end }}
{{- end }}
{{- with $v.requests.seed }}
- -seed={{ int64 . }}
{{- end }}
- -request-timeout={{ $v.requests.timeout }}
- -load-calculator={{ $v.load.calculator }}
- -min-rps={{ int64 $v.load.minRps }}
- -max-rps={{ int64 $v.load.maxRps }}
- -step-rps={{ int64 $v.load.stepRps }}
{{- with $v.load.rate }}
- -rate={{ int64 . }}
{{- end }}
- -round-interval={{ $v.load.roundInterval }}
- -expect-executors={{ int64 $v.executors.count }}
- -executor-wait={{ $v.run.executorWait }}
{{- if $v.run.executorWaitFail }}
- -executor-wait-fail
{{- end }}
{{- if include "imager.isJob" . }}
- -duration={{ $v.duration }}
{{- range $v.thresholds }}
- {{ printf "-threshold=%s" . | quote }}
{{- end }}
- -out=/results/results.json
- -results-linger={{ $v.run.resultsLinger }}
- -termination-log=/dev/termination-log
{{- end }}
- -listen-port=8099
- -grpc-port=8100
- -auth-token-file=/var/run/secrets/imager/token
{{- if $v.controlPlane.tls.enabled }}
- -tls-cert=/var/run/secrets/imager-tls/tls.crt
- -tls-key=/var/run/secrets/imager-tls/tls.key
{{- if $v.controlPlane.tls.clientAuth }}
- -tls-client-ca=/var/run/secrets/imager-tls/ca.crt
{{- end }}
{{- end }}
- -log-format={{ $v.orchestrator.logFormat }}
{{- end -}}

{{/* The executor's command-line flags, one list item each. */}}
{{- define "imager.executorArgs" -}}
{{- $v := .Values -}}
- -orchestrator={{ include "imager.orchestrator" . }}:8100
- -metrics-port=9100
- -workers={{ int64 $v.executors.workers }}
{{- if include "imager.isJob" . }}
- -exit-when-done
{{- end }}
- -auth-token-file=/var/run/secrets/imager/token
{{- with $v.controlPlane.tls }}
{{- if .enabled }}
- -tls-ca=/var/run/secrets/imager-tls/ca.crt
{{- with .serverName }}
- {{ printf "-tls-server-name=%s" . | quote }}
{{- end }}
{{- if .clientAuth }}
- -tls-cert=/var/run/secrets/imager-client-tls/tls.crt
- -tls-key=/var/run/secrets/imager-client-tls/tls.key
{{- end }}
{{- end }}
{{- end }}
- -log-format={{ $v.orchestrator.logFormat }}
{{- end -}}

{{/* The pod-level security context of both pods. */}}
{{- define "imager.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
fsGroup: 65532
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* The container-level security context of both containers. */}}
{{- define "imager.containerSecurityContext" -}}
runAsNonRoot: true
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: ["ALL"]
{{- end -}}

{{- define "imager.tokenVolume" -}}
- name: control-token
  secret:
    secretName: {{ include "imager.tokenSecret" . }}
    optional: false # no token, no start: auth is never silently off
    defaultMode: 0440
    items:
      - key: token
        path: token
{{- end -}}

{{/* The control-plane TLS volumes of the orchestrator (its certificate,
key and the CA) or, with "executor" as .role, of an executor (the CA only,
never the orchestrator's key, and its client certificate with clientAuth).
Call with (dict "root" $ "role" "orchestrator"). */}}
{{- define "imager.tlsVolumes" -}}
{{- $tls := .root.Values.controlPlane.tls -}}
{{- if $tls.enabled }}
- name: control-tls
  secret:
    secretName: {{ include "imager.tlsSecret" .root }}
    optional: false # no certificate, no start: never a silent fall back to plaintext
    defaultMode: 0440
    items:
      {{- if eq .role "orchestrator" }}
      - key: tls.crt
        path: tls.crt
      - key: tls.key
        path: tls.key
      {{- end }}
      {{- if or (eq .role "executor") $tls.clientAuth }}
      - key: ca.crt
        path: ca.crt
      {{- end }}
{{- if and (eq .role "executor") $tls.clientAuth }}
- name: executor-tls
  secret:
    secretName: {{ include "imager.clientTLSSecret" .root }}
    optional: false
    defaultMode: 0440
    items:
      - key: tls.crt
        path: tls.crt
      - key: tls.key
        path: tls.key
{{- end }}
{{- end }}
{{- end -}}

{{/* The mounts of imager.tlsVolumes; same argument. */}}
{{- define "imager.tlsMounts" -}}
{{- $tls := .root.Values.controlPlane.tls -}}
{{- if $tls.enabled }}
- name: control-tls
  mountPath: /var/run/secrets/imager-tls
  readOnly: true
{{- if and (eq .role "executor") $tls.clientAuth }}
- name: executor-tls
  mountPath: /var/run/secrets/imager-client-tls
  readOnly: true
{{- end }}
{{- end }}
{{- end -}}

{{- define "imager.scheduling" -}}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}
