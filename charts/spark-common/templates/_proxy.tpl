{{/*
The fault proxy in front of MinIO: the harness's own proxy (`chaos agent proxy`, the chaos
image) as one pod per line, HTTP-aware, so the S3 protocol faults the local platform does
(503 SlowDown and other S3 errors, truncated GETs, per-request latency, stream latency and
bandwidth) act on this line's S3 traffic only. The line's Connect servers, executors and
metastore reach S3 through its `s3` port, the History Server through its `history-s3` port,
so the two links are faulted apart as on the local platform. Toxics are added and removed by
the harness through `kubectl exec … chaos agent toxic` on the pod's loopback: nothing but the
two S3 ports is exposed. With `faultProxy.enabled=false` Spark talks to MinIO directly and the
harness refuses S3 protocol faults for this line.
*/}}

{{/* The S3 endpoint of this line's Spark pods and metastore. Args: the root context. */}}
{{- define "spark-common.s3Endpoint" -}}
{{- if .Values.faultProxy.enabled -}}
{{- printf "http://%s:%v" (include "spark-common.name" (dict "root" . "component" "s3-proxy")) .Values.faultProxy.s3Port -}}
{{- else -}}
{{- printf "http://%s:%v" (include "spark-common.minioHost" .) .Values.base.s3Port -}}
{{- end -}}
{{- end -}}

{{/* The S3 endpoint of this line's History Server. Args: the root context. */}}
{{- define "spark-common.historyS3Endpoint" -}}
{{- if .Values.faultProxy.enabled -}}
{{- printf "http://%s:%v" (include "spark-common.name" (dict "root" . "component" "s3-proxy")) .Values.faultProxy.historyPort -}}
{{- else -}}
{{- printf "http://%s:%v" (include "spark-common.minioHost" .) .Values.base.s3Port -}}
{{- end -}}
{{- end -}}

{{- define "spark-common.s3Proxy" -}}
{{- if .Values.faultProxy.enabled }}
{{- $name := include "spark-common.name" (dict "root" $ "component" "s3-proxy") }}
{{- $c := dict "root" $ "component" "s3-proxy" }}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ $name }}
  labels:
    {{- include "spark-common.labels" $c | nindent 4 }}
spec:
  replicas: 1
  selector:
    matchLabels:
      {{- include "spark-common.selectorLabels" $c | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "spark-common.labels" $c | nindent 8 }}
    spec:
      automountServiceAccountToken: false
      securityContext:
        {{- include "spark-common.podSecurityContext" $ | nindent 8 }}
      containers:
        - name: proxy
          image: {{ .Values.images.chaos }}
          imagePullPolicy: {{ .Values.images.pullPolicy }}
          args:
            - agent
            - proxy
            - --listen
            - s3={{ .Values.faultProxy.s3Port }}
            - --listen
            - history-s3={{ .Values.faultProxy.historyPort }}
            - --upstream
            - {{ printf "%s:%v" (include "spark-common.minioHost" .) .Values.base.s3Port }}
            - --control
            - {{ .Values.faultProxy.controlPort | quote }}
          ports:
            - {name: s3, containerPort: {{ .Values.faultProxy.s3Port }}}
            - {name: history-s3, containerPort: {{ .Values.faultProxy.historyPort }}}
          readinessProbe:
            tcpSocket: {port: s3}
            periodSeconds: 3
          livenessProbe:
            tcpSocket: {port: history-s3}
            initialDelaySeconds: 10
            periodSeconds: 10
          resources:
            {{- toYaml .Values.faultProxy.resources | nindent 12 }}
          securityContext:
            {{- include "spark-common.containerSecurityContext" $ | nindent 12 }}
---
apiVersion: v1
kind: Service
metadata:
  name: {{ $name }}
  labels:
    {{- include "spark-common.labels" $c | nindent 4 }}
spec:
  type: ClusterIP
  selector:
    {{- include "spark-common.selectorLabels" $c | nindent 4 }}
  ports:
    - {name: s3, port: {{ .Values.faultProxy.s3Port }}, targetPort: s3}
    - {name: history-s3, port: {{ .Values.faultProxy.historyPort }}, targetPort: history-s3}
{{- end }}
{{- end -}}
