{{- define "plait.name" -}}{{ .Release.Name }}-plait{{- end -}}

{{- define "plait.labels" -}}
app.kubernetes.io/name: plait
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end -}}

{{- define "plait.secretName" -}}
{{- default (include "plait.name" .) .Values.existingSecret -}}
{{- end -}}

{{/* The container settings both deployments share: image, environment, a writable data dir, non-root. */}}
{{- define "plait.container" -}}
image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"
imagePullPolicy: {{ .Values.image.pullPolicy }}
envFrom:
  - secretRef:
      name: {{ include "plait.secretName" . }}
env:
  - name: PLAIT_DATA_DIR
    value: /data
  {{- range $name, $value := .Values.env }}
  - name: {{ $name }}
    value: {{ $value | quote }}
  {{- end }}
volumeMounts:
  - name: data
    mountPath: /data
  - name: tmp
    mountPath: /tmp
securityContext:
  allowPrivilegeEscalation: false
  readOnlyRootFilesystem: true
  capabilities:
    drop: ["ALL"]
{{- end -}}
