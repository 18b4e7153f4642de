{{/* The metastore's configuration (its ConfigMap; its checksum restarts the pod on change). */}}
{{- define "spark-common.metastoreSite" -}}
{{- $prefix := include "spark-common.s3Prefix" . -}}
<?xml version="1.0"?>
<configuration>
{{- range $k, $v := dict
  "javax.jdo.option.ConnectionURL" (printf "jdbc:postgresql://%s-postgres:%v/%s" .Values.base.release .Values.base.postgresPort .Values.base.database)
  "javax.jdo.option.ConnectionDriverName" "org.postgresql.Driver"
  "javax.jdo.option.ConnectionUserName" .Values.base.database
  "javax.jdo.option.ConnectionPassword" "@DB_PASSWORD@"
  "metastore.thrift.port" (toString .Values.metastore.port)
  "metastore.thrift.bind.host" "0.0.0.0"
  "metastore.warehouse.dir" (printf "%s/warehouse" $prefix)
  "metastore.warehouse.external.dir" (printf "%s/warehouse" $prefix)
  "metastore.metadata.transformer.class" " "
  "metastore.schema.verification" "true"
  "datanucleus.schema.autoCreateAll" "false"
  "metastore.expression.proxy" "org.apache.hadoop.hive.metastore.DefaultPartitionExpressionProxy"
  "metastore.task.threads.always" "org.apache.hadoop.hive.metastore.events.EventCleanerTask"
  "metastore.event.db.notification.api.auth" "false"
  "metastore.metrics.enabled" "false"
  "metastore.server.min.threads" "8"
  "hadoop.tmp.dir" "/tmp/hadoop"
  "fs.s3a.impl" "org.apache.hadoop.fs.s3a.S3AFileSystem"
  "fs.s3a.endpoint" (include "spark-common.s3Endpoint" .)
  "fs.s3a.endpoint.region" "us-east-1"
  "fs.s3a.path.style.access" "true"
  "fs.s3a.connection.ssl.enabled" "false"
  "fs.s3a.bucket.probe" "0"
  "fs.s3a.buffer.dir" "/tmp/hadoop/s3a"
}}
  <property><name>{{ $k }}</name><value>{{ $v }}</value></property>
{{- end }}
</configuration>
{{- end -}}

{{/*
The line's Hive Metastore on its own PostgreSQL database. The image's `hms` script writes
the configuration with the database password from the environment, initialises the schema
when the database has none (an init container), then runs the Thrift server.
*/}}
{{- define "spark-common.metastore" -}}
{{- if .Values.metastore.enabled }}
{{- $name := include "spark-common.name" (dict "root" $ "component" "metastore") }}
{{- $c := dict "root" $ "component" "metastore" }}
{{- $env := include "spark-common.metastoreEnv" . }}
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ $name }}
  labels:
    {{- include "spark-common.labels" $c | nindent 4 }}
data:
  # `@DB_PASSWORD@` is replaced from the Secret when the container starts.
  metastore-site.xml: |
    {{- include "spark-common.metastoreSite" . | nindent 4 }}
---
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
      annotations:
        checksum/conf: {{ include "spark-common.metastoreSite" . | sha256sum | trunc 16 }}
    spec:
      automountServiceAccountToken: false
      securityContext:
        {{- include "spark-common.podSecurityContext" $ | nindent 8 }}
      initContainers:
        - name: schema
          image: {{ .Values.images.metastore }}
          imagePullPolicy: {{ .Values.images.pullPolicy }}
          args: ["schema"]
          env:
            {{- $env | nindent 12 }}
          resources:
            {{- toYaml .Values.metastore.resources | nindent 12 }}
          securityContext:
            {{- include "spark-common.containerSecurityContext" $ | nindent 12 }}
          volumeMounts:
            - {name: conf, mountPath: /etc/hms-template, readOnly: true}
            - {name: tmp, mountPath: /tmp}
      containers:
        - name: metastore
          image: {{ .Values.images.metastore }}
          imagePullPolicy: {{ .Values.images.pullPolicy }}
          args: ["server"]
          env:
            {{- $env | nindent 12 }}
          ports:
            - {name: thrift, containerPort: {{ .Values.metastore.port }}}
          readinessProbe:
            tcpSocket: {port: thrift}
            periodSeconds: 3
            failureThreshold: 3
          livenessProbe:
            tcpSocket: {port: thrift}
            initialDelaySeconds: 60
            periodSeconds: 10
            failureThreshold: 6
          resources:
            {{- toYaml .Values.metastore.resources | nindent 12 }}
          securityContext:
            {{- include "spark-common.containerSecurityContext" $ | nindent 12 }}
          volumeMounts:
            - {name: conf, mountPath: /etc/hms-template, readOnly: true}
            - {name: tmp, mountPath: /tmp}
      volumes:
        - name: conf
          configMap: {name: {{ $name }}}
        - {name: tmp, emptyDir: {}}
---
apiVersion: v1
kind: Service
metadata:
  name: {{ $name }}
  labels:
    {{- include "spark-common.labels" $c | nindent 4 }}
spec:
  type: {{ .Values.service.type }}
  selector:
    {{- include "spark-common.selectorLabels" $c | nindent 4 }}
  ports:
    - {name: thrift, port: {{ .Values.metastore.port }}, targetPort: thrift{{ include "spark-common.nodePort" (dict "root" $ "port" .Values.metastore.nodePort) }}}
{{- end }}
{{- end -}}

{{- define "spark-common.metastoreEnv" -}}
- name: DB_PASSWORD
  valueFrom: {secretKeyRef: {name: {{ printf "%s-postgres" .Values.base.release }}, key: {{ printf "%s-password" .Values.base.database }}}}
- name: HMS_HEAP
  value: {{ .Values.metastore.heap | quote }}
{{ include "spark-common.s3Env" . }}
{{- end -}}

{{/* The line's History Server, reading the event logs under `s3a://<bucket>/<line>/events`. */}}
{{- define "spark-common.history" -}}
{{- if .Values.history.enabled }}
{{- $name := include "spark-common.name" (dict "root" $ "component" "history") }}
{{- $c := dict "root" $ "component" "history" }}
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
      annotations:
        checksum/conf: {{ include "spark-common.sparkConf" . | sha256sum | trunc 16 }}
    spec:
      automountServiceAccountToken: false
      securityContext:
        {{- include "spark-common.podSecurityContext" $ | nindent 8 }}
      containers:
        - name: history
          image: {{ .Values.images.spark }}
          imagePullPolicy: {{ .Values.images.pullPolicy }}
          command: ["/opt/spark/bin/spark-class"]
          args:
            - org.apache.spark.deploy.history.HistoryServer
            - --properties-file
            - /opt/spark/conf-chaos/spark-defaults.conf
          env:
            - name: SPARK_DAEMON_MEMORY
              value: {{ .Values.history.heap | quote }}
            # The History Server's own S3 link (through the fault proxy's history-s3 port):
            # system properties win over the properties file it shares with Connect.
            - name: SPARK_HISTORY_OPTS
              value: {{ printf "-Dspark.hadoop.fs.s3a.endpoint=%s" (include "spark-common.historyS3Endpoint" .) | quote }}
            {{- include "spark-common.s3Env" . | nindent 12 }}
          ports:
            - {name: http, containerPort: {{ .Values.history.port }}}
          readinessProbe:
            httpGet: {path: /api/v1/version, port: http}
            initialDelaySeconds: 5
            periodSeconds: 3
          livenessProbe:
            tcpSocket: {port: http}
            initialDelaySeconds: 60
            periodSeconds: 10
            failureThreshold: 6
          resources:
            {{- toYaml .Values.history.resources | nindent 12 }}
          securityContext:
            {{- include "spark-common.containerSecurityContext" $ | nindent 12 }}
          volumeMounts:
            - {name: conf, mountPath: /opt/spark/conf-chaos, readOnly: true}
            - {name: tmp, mountPath: /tmp}
      volumes:
        - name: conf
          configMap: {name: {{ include "spark-common.name" (dict "root" $ "component" "conf") }}}
        - {name: tmp, emptyDir: {}}
---
apiVersion: v1
kind: Service
metadata:
  name: {{ $name }}
  labels:
    {{- include "spark-common.labels" $c | nindent 4 }}
spec:
  type: {{ .Values.service.type }}
  selector:
    {{- include "spark-common.selectorLabels" $c | nindent 4 }}
  ports:
    - {name: http, port: {{ .Values.history.port }}, targetPort: http{{ include "spark-common.nodePort" (dict "root" $ "port" .Values.history.nodePort) }}}
{{- end }}
{{- end -}}
