{{/*
The Connect servers of a Spark line: each replica is a Spark driver in client mode whose
executors are pods it creates through the API (`spark-role=executor`, owned by the driver pod,
so they go when it goes), behind one Service.
*/}}
{{- define "spark-common.connect" -}}
{{- $name := include "spark-common.name" (dict "root" $ "component" "connect") }}
{{- $c := dict "root" $ "component" "connect" }}
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ $name }}
  labels:
    {{- include "spark-common.labels" $c | nindent 4 }}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: {{ $name }}
  labels:
    {{- include "spark-common.labels" $c | nindent 4 }}
rules:
  # What a Spark driver needs for its executors (pods, their config maps and volumes).
  - apiGroups: [""]
    resources: [pods, services, configmaps, persistentvolumeclaims]
    verbs: [create, get, list, watch, delete, deletecollection, patch, update]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: {{ $name }}
  labels:
    {{- include "spark-common.labels" $c | nindent 4 }}
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: {{ $name }}
subjects:
  - kind: ServiceAccount
    name: {{ $name }}
    namespace: {{ .Release.Namespace }}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ include "spark-common.name" (dict "root" $ "component" "conf") }}
  labels:
    {{- include "spark-common.labels" (dict "root" $ "component" "conf") | nindent 4 }}
data:
  spark-defaults.conf: |
    {{- include "spark-common.sparkConf" . | nindent 4 }}
  executor-template.yaml: |
    {{- include "spark-common.executorTemplate" . | nindent 4 }}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ $name }}
  labels:
    {{- include "spark-common.labels" $c | nindent 4 }}
spec:
  replicas: {{ .Values.connect.replicas }}
  selector:
    matchLabels:
      {{- include "spark-common.selectorLabels" $c | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "spark-common.labels" $c | nindent 8 }}
        spark-role: driver
      annotations:
        checksum/conf: {{ include "spark-common.sparkConf" . | sha256sum | trunc 16 }}
    spec:
      serviceAccountName: {{ $name }}
      securityContext:
        {{- include "spark-common.podSecurityContext" $ | nindent 8 }}
      containers:
        - name: connect
          image: {{ .Values.images.spark }}
          imagePullPolicy: {{ .Values.images.pullPolicy }}
          command: ["/opt/spark/bin/spark-submit"]
          args:
            - --class
            - org.apache.spark.sql.connect.service.SparkConnectServer
            - --name
            - {{ $name }}
            - --properties-file
            - /opt/spark/conf-chaos/spark-defaults.conf
            - --conf
            - spark.driver.host=$(POD_IP)
            - --conf
            - spark.kubernetes.driver.pod.name=$(POD_NAME)
            - --conf
            - spark.kubernetes.executor.podNamePrefix=$(POD_NAME)
            - spark-internal
          env:
            - name: POD_IP
              valueFrom: {fieldRef: {fieldPath: status.podIP}}
            - name: POD_NAME
              valueFrom: {fieldRef: {fieldPath: metadata.name}}
            - name: SPARK_NO_DAEMONIZE
              value: "1"
            {{- include "spark-common.s3Env" . | nindent 12 }}
          ports:
            - {name: grpc, containerPort: {{ .Values.connect.port }}}
            - {name: ui, containerPort: {{ .Values.connect.uiPort }}}
            - {name: driver, containerPort: 7078}
            - {name: blockmanager, containerPort: 7079}
          readinessProbe:
            tcpSocket: {port: grpc}
            initialDelaySeconds: 5
            periodSeconds: 3
            failureThreshold: 3
          livenessProbe:
            tcpSocket: {port: grpc}
            initialDelaySeconds: 120
            periodSeconds: 10
            failureThreshold: 6
          resources:
            {{- toYaml .Values.connect.resources | nindent 12 }}
          securityContext:
            {{- include "spark-common.containerSecurityContext" $ | nindent 12 }}
          volumeMounts:
            - {name: conf, mountPath: /opt/spark/conf-chaos, readOnly: true}
            - {name: work, mountPath: /opt/spark/work-dir}
            - {name: tmp, mountPath: /tmp}
      volumes:
        - name: conf
          configMap: {name: {{ include "spark-common.name" (dict "root" $ "component" "conf") }}}
        - {name: work, emptyDir: {}}
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
    - {name: grpc, port: {{ .Values.connect.port }}, targetPort: grpc{{ include "spark-common.nodePort" (dict "root" $ "port" .Values.connect.nodePort) }}}
    - {name: ui, port: {{ .Values.connect.uiPort }}, targetPort: ui}
{{- end -}}
