{{/*
  Kafka security of a component (packages/kafka/src/security.ts; ACLs in docs/operations.md): the
  protocol, its own SCRAM user, the password as a file from kafka.security.passwordSecret (key: the
  component's name) and the brokers' CA from a Secret or ConfigMap. Call with (list . "ledger");
  components: receiver (the gateway Deployment), orders (the order-service Deployment), ledger,
  alerting, reconciler, operator. The receiver and the order service have the same grants
  (observations) under two principals, so either password can be revoked alone.
*/}}
{{- define "paysync.kafkaSasl" -}}
{{- $p := .Values.kafka.security.protocol -}}
{{- if or (eq $p "SASL_PLAINTEXT") (eq $p "SASL_SSL") }}true{{ end -}}
{{- end }}

{{- define "paysync.kafkaCa" -}}
{{- $k := .Values.kafka.security -}}
{{- if and (or (eq $k.protocol "SSL") (eq $k.protocol "SASL_SSL")) (or $k.ca.secretName $k.ca.configMapName) }}true{{ end -}}
{{- end }}

{{- define "paysync.kafkaEnv" -}}
{{- $root := index . 0 -}}
{{- $component := index . 1 -}}
{{- $k := $root.Values.kafka.security -}}
- name: KAFKA_SECURITY_PROTOCOL
  value: {{ $k.protocol | quote }}
{{- if $k.allowPlaintext }}
- name: KAFKA_ALLOW_PLAINTEXT
  value: "true"
{{- end }}
{{- if include "paysync.kafkaSasl" $root }}
{{- $user := index $k.usernames $component | required (printf "kafka.security.usernames.%s is required with %s" $component $k.protocol) }}
- name: KAFKA_SASL_MECHANISM
  value: {{ $k.saslMechanism | quote }}
- name: KAFKA_SASL_USERNAME
  value: {{ $user | quote }}
- name: KAFKA_SASL_PASSWORD_FILE
  value: /var/run/secrets/paysync/kafka-sasl/credential
{{- end }}
{{- if include "paysync.kafkaCa" $root }}
- name: KAFKA_SSL_CA_FILE
  value: /var/run/secrets/paysync/kafka-ca/{{ $k.ca.key }}
{{- end }}
{{- end }}

{{- define "paysync.kafkaVolumeMounts" -}}
{{- if include "paysync.kafkaSasl" . }}
- name: kafka-sasl
  mountPath: /var/run/secrets/paysync/kafka-sasl
  readOnly: true
{{- end }}
{{- if include "paysync.kafkaCa" . }}
- name: kafka-ca
  mountPath: /var/run/secrets/paysync/kafka-ca
  readOnly: true
{{- end }}
{{- end }}

{{/* Only the component's own password is mounted, as the file "credential". */}}
{{- define "paysync.kafkaVolumes" -}}
{{- $root := index . 0 -}}
{{- $component := index . 1 -}}
{{- $k := $root.Values.kafka.security -}}
{{- if include "paysync.kafkaSasl" $root }}
- name: kafka-sasl
  secret:
    secretName: {{ $k.passwordSecret.name | required "kafka.security.passwordSecret.name is required with SASL" }}
    defaultMode: 0440
    items:
      - key: {{ $component }}
        path: credential
{{- end }}
{{- if include "paysync.kafkaCa" $root }}
- name: kafka-ca
  {{- if $k.ca.secretName }}
  secret:
    secretName: {{ $k.ca.secretName }}
    defaultMode: 0444
    items:
      - key: {{ $k.ca.key }}
        path: {{ $k.ca.key }}
  {{- else }}
  configMap:
    name: {{ $k.ca.configMapName }}
    defaultMode: 0444
    items:
      - key: {{ $k.ca.key }}
        path: {{ $k.ca.key }}
  {{- end }}
{{- end }}
{{- end }}
