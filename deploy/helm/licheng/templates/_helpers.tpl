{{/* Names and labels shared by every template. */}}

{{- define "licheng.fullname" -}}
{{- printf "%s" .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}

{{- define "licheng.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{- define "licheng.labels" -}}
app.kubernetes.io/part-of: licheng
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* Selector labels of one component: (dict "root" $ "name" "identity") */}}
{{- define "licheng.selector" -}}
app.kubernetes.io/part-of: licheng
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .name }}
{{- end -}}

{{- define "licheng.natsUrl" -}}
{{- printf "nats://%s-nats:4222" (include "licheng.fullname" .) -}}
{{- end -}}

{{- define "licheng.keycloakRealmUrl" -}}
{{- printf "%s/realms/%s" (trimSuffix "/" .Values.keycloak.url) .Values.keycloak.realm -}}
{{- end -}}

{{/* The in-cluster URL of a component: (dict "root" $ "name" "identity") */}}
{{- define "licheng.componentUrl" -}}
{{- $c := index .root.Values.components .name -}}
{{- printf "http://%s-%s:%v" (include "licheng.fullname" .root) .name $c.port -}}
{{- end -}}

{{/* Settings of one component, rendered as ConfigMap data. */}}
{{- define "licheng.settings" -}}
{{- $root := .root -}}
{{- $name := .name -}}
{{- $c := .component -}}
{{- $p := $c.prefix -}}
{{- range $key, $value := $root.Values.common }}
{{ $p }}{{ $key }}: {{ $value | quote }}
{{- end }}
{{ $p }}PORT: {{ $c.port | quote }}
{{ $p }}PUBLIC_URL: {{ printf "https://%s" $root.Values.publicHost | quote }}
{{ $p }}NATS_URL: {{ include "licheng.natsUrl" $root | quote }}
{{ $p }}NATS_STREAM_REPLICAS: {{ $root.Values.nats.streamReplicas | quote }}
{{ $p }}S3_ENDPOINT: {{ $root.Values.s3.endpoint | quote }}
{{ $p }}S3_SECURE: {{ $root.Values.s3.secure | quote }}
{{ $p }}UPLOADS_BUCKET: {{ $root.Values.s3.uploadsBucket | quote }}
{{ $p }}EXPORTS_BUCKET: {{ $root.Values.s3.exportsBucket | quote }}
{{ $p }}JWKS_URL: {{ printf "%s/protocol/openid-connect/certs" (include "licheng.keycloakRealmUrl" $root) | quote }}
{{ $p }}JWT_ISSUER: {{ include "licheng.keycloakRealmUrl" $root | quote }}
{{- if eq $name "identity" }}
{{ $p }}KEYCLOAK_URL: {{ $root.Values.keycloak.url | quote }}
{{ $p }}KEYCLOAK_REALM: {{ $root.Values.keycloak.realm | quote }}
{{- end }}
{{- if or (eq $name "exports") (eq $name "exports-worker") }}
{{ $p }}IDENTITY_URL: {{ include "licheng.componentUrl" (dict "root" $root "name" "identity") | quote }}
{{ $p }}TOKEN_URL: {{ printf "%s/protocol/openid-connect/token" (include "licheng.keycloakRealmUrl" $root) | quote }}
{{- end }}
{{- if eq $name "web" }}
{{ $p }}GATEWAY_URL: {{ include "licheng.componentUrl" (dict "root" $root "name" "gateway") | quote }}
{{ $p }}OIDC_ISSUER: {{ include "licheng.keycloakRealmUrl" $root | quote }}
{{- end }}
{{- if eq $name "gateway" }}
{{- $upstreams := dict }}
{{- range $service := list "identity" "course-outcomes" "performances" "guidance" "exports" }}
{{- $_ := set $upstreams $service (include "licheng.componentUrl" (dict "root" $root "name" $service)) }}
{{- end }}
{{ $p }}UPSTREAMS: {{ $upstreams | toJson | quote }}
{{ $p }}PORTAL_URL: {{ include "licheng.componentUrl" (dict "root" $root "name" "web") | quote }}
{{ $p }}RATE_LIMIT_STORAGE_URI: {{ $root.Values.redis.url | quote }}
{{- end }}
{{- range $key, $value := $c.env }}
{{ $p }}{{ $key }}: {{ $value | quote }}
{{- end }}
{{- end -}}

{{/* The hardened container security context every Licheng container runs with. */}}
{{- define "licheng.containerSecurity" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
capabilities:
  drop: [ALL]
{{- end -}}

{{- define "licheng.podSecurity" -}}
runAsNonRoot: true
runAsUser: {{ .Values.podSecurity.runAsUser }}
runAsGroup: {{ .Values.podSecurity.runAsGroup }}
fsGroup: {{ .Values.podSecurity.fsGroup }}
seccompProfile:
  type: RuntimeDefault
{{- end -}}
