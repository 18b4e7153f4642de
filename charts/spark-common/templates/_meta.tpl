{{/*
Labels and names. Every object carries app.kubernetes.io/part-of=spark-chaos and the
release's instance label, so two releases (3.5 and 4.1) in one namespace never select each
other's pods.
*/}}

{{/* "<release>-<component>", e.g. spark-41-connect. Args: dict "root" $ "component" "connect". */}}
{{- define "spark-common.name" -}}
{{- printf "%s-%s" .root.Release.Name .component | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "spark-common.selectorLabels" -}}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "spark-common.labels" -}}
{{ include "spark-common.selectorLabels" . }}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/part-of: spark-chaos
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version }}
{{- end -}}

{{/*
The `restricted` Pod Security Standard: non-root UID/GID (185 by default, the UID of
Apache's Spark images), no privilege escalation, every capability dropped, the runtime's
default seccomp profile. Args: the root context.
*/}}
{{- define "spark-common.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .Values.securityContext.uid }}
runAsGroup: {{ .Values.securityContext.gid }}
fsGroup: {{ .Values.securityContext.gid }}
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "spark-common.containerSecurityContext" -}}
runAsNonRoot: true
allowPrivilegeEscalation: false
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* Egress to cluster DNS, for NetworkPolicies. Args: the root context. */}}
{{- define "spark-common.dnsEgress" -}}
- to:
    - namespaceSelector:
        matchLabels:
          kubernetes.io/metadata.name: {{ .Values.networkPolicy.dns.namespace }}
      podSelector:
        matchLabels:
          {{- toYaml .Values.networkPolicy.dns.podLabels | nindent 10 }}
  ports:
    - {protocol: UDP, port: 53}
    - {protocol: TCP, port: 53}
{{- end -}}

{{/* A volume of a PersistentVolumeClaim or an emptyDir. Args: dict "name" "data" "claim" "<pvc>" "persistence" .Values.x.persistence */}}
{{- define "spark-common.dataVolume" -}}
- name: {{ .name }}
{{- if .persistence.enabled }}
  persistentVolumeClaim:
    claimName: {{ .claim }}
{{- else }}
  emptyDir: {}
{{- end }}
{{- end -}}

{{/* A PersistentVolumeClaim when persistence is on. Args: dict "root" $ "name" "<pvc>" "component" "minio" "persistence" .Values.x.persistence */}}
{{- define "spark-common.claim" -}}
{{- if .persistence.enabled }}
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: {{ .name }}
  labels:
    {{- include "spark-common.labels" . | nindent 4 }}
spec:
  accessModes: ["ReadWriteOnce"]
  {{- with .persistence.storageClass }}
  storageClassName: {{ . }}
  {{- end }}
  resources:
    requests:
      storage: {{ .persistence.size }}
{{- end }}
{{- end -}}

{{/*
A generated secret value that survives `helm upgrade`: the value already in the cluster
if the Secret exists, else a new random one. Args: dict "root" $ "secret" "<name>" "key" "<key>"
*/}}
{{- define "spark-common.secretValue" -}}
{{- $found := lookup "v1" "Secret" .root.Release.Namespace .secret -}}
{{- if and $found $found.data (hasKey $found.data .key) -}}
{{- index $found.data .key -}}
{{- else -}}
{{- randAlphaNum 32 | b64enc -}}
{{- end -}}
{{- end -}}

{{/*
A fixed node port for a Service port when one is set and the Services are NodePorts (the
harness reaches a kind cluster through node ports published on 127.0.0.1). Args: dict "root" $
"port" <number or nil>
*/}}
{{- define "spark-common.nodePort" -}}
{{- if and .port (eq .root.Values.service.type "NodePort") -}}
, nodePort: {{ .port }}
{{- end -}}
{{- end -}}
