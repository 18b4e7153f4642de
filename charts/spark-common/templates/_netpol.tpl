{{/*
A line's NetworkPolicies, as the production guide lists them: Connect → API server, S3,
metastore (and its executors); executors → their driver, each other, S3; metastore →
PostgreSQL, S3; History Server → S3. With the fault proxy, "S3" is the proxy's port of that
link, and the proxy alone reaches MinIO. Each also reaches cluster DNS. They are egress
allow-lists only: ingress is where the harness puts its faults (deny policies), which would
be overridden by any chart policy allowing ingress to the same pods.
*/}}
{{- define "spark-common.egressPolicy" -}}
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: {{ include "spark-common.name" .c }}-egress
  labels:
    {{- include "spark-common.labels" .c | nindent 4 }}
spec:
  podSelector:
    matchLabels:
      {{- include "spark-common.selectorLabels" .c | nindent 6 }}
  policyTypes: [Egress]
  egress:
    {{- include "spark-common.dnsEgress" .c.root | nindent 4 }}
    {{- .rules | nindent 4 }}
{{- end -}}

{{/* Egress to pods of one component. Args: dict "labels" <selector labels yaml> "ports" (list ...) */}}
{{- define "spark-common.toPods" -}}
- to:
    - podSelector:
        matchLabels:
          {{- .labels | nindent 10 }}
  {{- with .ports }}
  ports:
    {{- range . }}
    - {protocol: TCP, port: {{ . }}}
    {{- end }}
  {{- end }}
{{- end -}}

{{- define "spark-common.networkPolicies" -}}
{{- if .Values.networkPolicy.enabled }}
{{- $minio := include "spark-common.toPods" (dict "labels" (printf "app.kubernetes.io/instance: %s\napp.kubernetes.io/component: minio" .Values.base.release) "ports" (list .Values.base.s3Port)) }}
{{- $proxyLabels := include "spark-common.selectorLabels" (dict "root" $ "component" "s3-proxy") }}
{{- $s3 := $minio }}
{{- $historyS3 := $minio }}
{{- if .Values.faultProxy.enabled }}
{{- $s3 = include "spark-common.toPods" (dict "labels" $proxyLabels "ports" (list .Values.faultProxy.s3Port)) }}
{{- $historyS3 = include "spark-common.toPods" (dict "labels" $proxyLabels "ports" (list .Values.faultProxy.historyPort)) }}
{{- end }}
{{- $postgres := include "spark-common.toPods" (dict "labels" (printf "app.kubernetes.io/instance: %s\napp.kubernetes.io/component: postgres" .Values.base.release) "ports" (list .Values.base.postgresPort)) }}
{{- $metastore := include "spark-common.toPods" (dict "labels" (include "spark-common.selectorLabels" (dict "root" $ "component" "metastore")) "ports" (list .Values.metastore.port)) }}
{{- $executors := include "spark-common.toPods" (dict "labels" (include "spark-common.selectorLabels" (dict "root" $ "component" "executor")) "ports" (list)) }}
{{- $driver := include "spark-common.toPods" (dict "labels" (include "spark-common.selectorLabels" (dict "root" $ "component" "connect")) "ports" (list 7078 7079)) }}
{{- $api := "" }}
{{- range .Values.networkPolicy.apiServer.cidrs }}
{{- $api = printf "%s\n    - ipBlock: {cidr: %s}" $api . }}
{{- end }}
{{- $apiPorts := "" }}
{{- range .Values.networkPolicy.apiServer.ports }}
{{- $apiPorts = printf "%s\n    - {protocol: TCP, port: %v}" $apiPorts . }}
{{- end }}
{{- $apiRule := printf "- to:%s\n  ports:%s" $api $apiPorts }}
{{- include "spark-common.egressPolicy" (dict "c" (dict "root" $ "component" "connect") "rules" (printf "%s\n%s\n%s\n%s\n%s" $apiRule $s3 $metastore $executors $driver)) }}
---
{{ include "spark-common.egressPolicy" (dict "c" (dict "root" $ "component" "executor") "rules" (printf "%s\n%s\n%s" $driver $executors $s3)) }}
{{- if .Values.metastore.enabled }}
---
{{ include "spark-common.egressPolicy" (dict "c" (dict "root" $ "component" "metastore") "rules" (printf "%s\n%s" $postgres $s3)) }}
{{- end }}
{{- if .Values.history.enabled }}
---
{{ include "spark-common.egressPolicy" (dict "c" (dict "root" $ "component" "history") "rules" $historyS3) }}
{{- end }}
{{- if .Values.faultProxy.enabled }}
---
{{ include "spark-common.egressPolicy" (dict "c" (dict "root" $ "component" "s3-proxy") "rules" $minio) }}
{{- end }}
{{- end }}
{{- end -}}

{{/* Everything of one Spark line, for the spark-3.5 and spark-4.1 charts. */}}
{{- define "spark-common.line" -}}
{{ include "spark-common.connect" . }}
{{- with include "spark-common.s3Proxy" . }}
---
{{ . }}
{{- end }}
{{- with include "spark-common.metastore" . }}
---
{{ . }}
{{- end }}
{{- with include "spark-common.history" . }}
---
{{ . }}
{{- end }}
{{- with include "spark-common.networkPolicies" . }}
---
{{ . }}
{{- end }}
{{- end -}}
