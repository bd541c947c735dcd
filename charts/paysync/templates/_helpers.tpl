{{/* Names */}}
{{- define "paysync.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "paysync.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* <fullname>-<component>, within 63 characters. Call with (list . "gateway"). */}}
{{- define "paysync.componentName" -}}
{{- $root := index . 0 -}}
{{- printf "%s-%s" (include "paysync.fullname" $root | trunc (int (sub 62 (len (index . 1))))) (index . 1) | trimSuffix "-" }}
{{- end }}

{{- define "paysync.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Selector labels of a component. Call with (list . "gateway"). */}}
{{- define "paysync.selectorLabels" -}}
{{- $root := index . 0 -}}
app.kubernetes.io/name: {{ include "paysync.name" $root }}
app.kubernetes.io/instance: {{ $root.Release.Name }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end }}

{{/* All labels of a component's objects. Call with (list . "gateway"). */}}
{{- define "paysync.labels" -}}
{{- $root := index . 0 -}}
helm.sh/chart: {{ include "paysync.chart" $root }}
{{ include "paysync.selectorLabels" . }}
app.kubernetes.io/version: {{ $root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ $root.Release.Service }}
app.kubernetes.io/part-of: paysync
{{- end }}

{{/* Labels of objects that belong to no single component. */}}
{{- define "paysync.commonLabels" -}}
helm.sh/chart: {{ include "paysync.chart" . }}
app.kubernetes.io/name: {{ include "paysync.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: paysync
{{- end }}

{{/* The image of a component. Call with (list . "callback-gateway"). */}}
{{- define "paysync.image" -}}
{{- $root := index . 0 -}}
{{- $img := $root.Values.image -}}
{{- $repo := printf "%s/%s" $img.repository (index . 1) -}}
{{- if $img.registry }}{{ $repo = printf "%s/%s" $img.registry $repo }}{{ end }}
{{- if $img.digest }}
{{- printf "%s@%s" $repo $img.digest }}
{{- else }}
{{- printf "%s:%s" $repo (default $root.Chart.AppVersion $img.tag) }}
{{- end }}
{{- end }}

{{/* The public notify URL registered with WeChat Pay. */}}
{{- define "paysync.notifyUrl" -}}
{{- if .Values.gateway.notifyUrl }}
{{- .Values.gateway.notifyUrl }}
{{- else }}
{{- printf "https://%s/api/payment/wechat/callback" .Values.gateway.ingress.host }}
{{- end }}
{{- end }}

{{/* Restricted pod security: the pod part. */}}
{{- define "paysync.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .Values.podSecurityContext.runAsUser }}
runAsGroup: {{ .Values.podSecurityContext.runAsGroup }}
fsGroup: {{ .Values.podSecurityContext.fsGroup }}
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/* Restricted pod security: the container part. */}}
{{- define "paysync.containerSecurityContext" -}}
runAsNonRoot: true
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
privileged: false
capabilities:
  drop:
    - ALL
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/* Environment every component shares: the ConfigMap and the MySQL URL from its Secret. */}}
{{- define "paysync.commonEnvFrom" -}}
- configMapRef:
    name: {{ include "paysync.componentName" (list . "config") }}
{{- end }}

{{/*
The component's own database account: a password-less URL from its Secret, the password as a file.
Call with (list . "orders"); the Secret is <secrets.mysql.namePrefix>-<component>.
*/}}
{{- define "paysync.mysqlEnv" -}}
{{- $m := (index . 0).Values.secrets.mysql -}}
- name: MYSQL_URL
  valueFrom:
    secretKeyRef:
      name: {{ printf "%s-%s" $m.namePrefix (index . 1) }}
      key: {{ $m.urlKey }}
- name: MYSQL_PASSWORD_FILE
  value: /var/run/secrets/paysync/mysql/{{ $m.passwordKey }}
{{- end }}

{{- define "paysync.mysqlMount" -}}
- name: mysql
  mountPath: /var/run/secrets/paysync/mysql
  readOnly: true
{{- end }}

{{/* The password of the component's database account as a volume. Call with (list . "orders"). */}}
{{- define "paysync.mysqlVolume" -}}
{{- $m := (index . 0).Values.secrets.mysql -}}
- name: mysql
  secret:
    secretName: {{ printf "%s-%s" $m.namePrefix (index . 1) }}
    defaultMode: 0440
    items:
      - key: {{ $m.passwordKey }}
        path: {{ $m.passwordKey }}
{{- end }}

{{- define "paysync.opsEnv" -}}
- name: METRICS_HOST
  value: "0.0.0.0"
- name: METRICS_PORT
  value: {{ .Values.metricsPort | quote }}
{{- end }}

{{/* WeChat Pay key files: the env vars naming them. */}}
{{- define "paysync.wechatpayFileEnv" -}}
{{- $s := .Values.secrets.wechatpay -}}
- name: WECHATPAY_PRIVATE_KEY_FILE
  value: /var/run/secrets/paysync/wechatpay/{{ $s.privateKeyKey }}
- name: WECHATPAY_API_V3_KEY_FILE
  value: /var/run/secrets/paysync/wechatpay/{{ $s.apiV3KeyKey }}
{{- if $s.publicKeyKey }}
- name: WECHATPAY_PUBLIC_KEY_FILE
  value: /var/run/secrets/paysync/wechatpay/{{ $s.publicKeyKey }}
{{- end }}
{{- end }}

{{/* What the ledger checks evidence with: the APIv3 key, the WeChat Pay public key, the APIv2 key; never the merchant private key. */}}
{{- define "paysync.evidenceFileEnv" -}}
{{- $s := .Values.secrets.wechatpay -}}
- name: WECHATPAY_API_V3_KEY_FILE
  value: /var/run/secrets/paysync/wechatpay/{{ $s.apiV3KeyKey }}
{{- if $s.publicKeyKey }}
- name: WECHATPAY_PUBLIC_KEY_FILE
  value: /var/run/secrets/paysync/wechatpay/{{ $s.publicKeyKey }}
{{- end }}
{{- if $s.apiV2KeyKey }}
- name: WECHATPAY_API_V2_KEY_FILE
  value: /var/run/secrets/paysync/wechatpay/{{ $s.apiV2KeyKey }}
{{- end }}
{{- end }}

{{/* The WeChat Pay Secret as a volume holding only the keys the chart uses (with "verifyOnly": no private key). */}}
{{- define "paysync.wechatpayVolume" -}}
{{- $s := .root.Values.secrets.wechatpay -}}
- name: wechatpay
  secret:
    secretName: {{ $s.name }}
    defaultMode: 0440
    items:
      {{- if not .verifyOnly }}
      - key: {{ $s.privateKeyKey }}
        path: {{ $s.privateKeyKey }}
      {{- end }}
      - key: {{ $s.apiV3KeyKey }}
        path: {{ $s.apiV3KeyKey }}
      {{- if $s.publicKeyKey }}
      - key: {{ $s.publicKeyKey }}
        path: {{ $s.publicKeyKey }}
      {{- end }}
      {{- if and .apiV2 $s.apiV2KeyKey }}
      - key: {{ $s.apiV2KeyKey }}
        path: {{ $s.apiV2KeyKey }}
      {{- end }}
{{- end }}

{{/* A component's own env map (values), as container env entries. */}}
{{- define "paysync.envMap" -}}
{{- range $k, $v := . }}
- name: {{ $k }}
  value: {{ $v | toString | quote }}
{{- end }}
{{- end }}

{{/* Pod placement merged from the common and the component's values. Call with (list . .Values.gateway). */}}
{{- define "paysync.placement" -}}
{{- $root := index . 0 -}}
{{- $c := index . 1 -}}
{{- $ns := merge (dict) ($c.nodeSelector | default dict) ($root.Values.nodeSelector | default dict) -}}
{{- with $ns }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- $tol := concat ($root.Values.tolerations | default list) ($c.tolerations | default list) -}}
{{- with $tol }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $c.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $root.Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/* Pod template metadata: labels and the config checksum (a config change rolls the pods). */}}
{{- define "paysync.podMetadata" -}}
{{- $root := index . 0 -}}
labels:
  {{- with include "paysync.labels" . }}{{ . | nindent 2 }}{{ end }}
  {{- with $root.Values.podLabels }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
annotations:
  checksum/config: {{ include (print $root.Template.BasePath "/configmap.yaml") $root | sha256sum }}
  {{- with $root.Values.podAnnotations }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- end }}

{{/* Probes on the ops port. */}}
{{- define "paysync.probes" -}}
startupProbe:
  httpGet:
    path: /healthz
    port: metrics
  periodSeconds: 2
  failureThreshold: 30
livenessProbe:
  httpGet:
    path: /healthz
    port: metrics
  periodSeconds: 10
  timeoutSeconds: 2
  failureThreshold: 3
readinessProbe:
  httpGet:
    path: /readyz
    port: metrics
  periodSeconds: 5
  timeoutSeconds: 3
  failureThreshold: 2
{{- end }}

{{- define "paysync.tmpVolume" -}}
- name: tmp
  emptyDir:
    sizeLimit: 64Mi
{{- end }}

{{/*
  Where the reconciler's sweep pushes its run metrics: this release's Pushgateway
  (monitoring.pushgateway.enabled) or an existing one (monitoring.pushgateway.url); empty: nowhere.
*/}}
{{- define "paysync.pushgatewayUrl" -}}
{{- $p := .Values.monitoring.pushgateway -}}
{{- if hasKey .Values.reconciler.env "RECONCILER_PUSHGATEWAY_URL" }}
{{- fail "reconciler.env.RECONCILER_PUSHGATEWAY_URL is set by the chart: use monitoring.pushgateway (enabled: the release's own; url: an existing one)" }}
{{- end }}
{{- if and $p.enabled $p.url }}
{{- fail "monitoring.pushgateway: set either enabled (the chart deploys one) or url (an existing one), not both" }}
{{- end }}
{{- if $p.enabled }}
{{- printf "http://%s.%s.svc:%v" (include "paysync.componentName" (list . "pushgateway")) .Release.Namespace $p.port }}
{{- else }}
{{- $p.url }}
{{- end }}
{{- end }}
