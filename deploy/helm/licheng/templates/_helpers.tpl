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
{{- if .Values.nats.external.url -}}
{{- .Values.nats.external.url -}}
{{- else -}}
{{- printf "nats://%s-nats:4222" (include "licheng.fullname" .) -}}
{{- end -}}
{{- end -}}

{{- define "licheng.keycloakRealmUrl" -}}
{{- printf "%s/realms/%s" (trimSuffix "/" .Values.keycloak.url) .Values.keycloak.realm -}}
{{- end -}}

{{/* Who signs the tokens every component checks: Keycloak's realm, unless overridden. */}}
{{- define "licheng.jwksUrl" -}}
{{- .Values.auth.jwksUrl | default (printf "%s/protocol/openid-connect/certs" (include "licheng.keycloakRealmUrl" .)) -}}
{{- end -}}
{{- define "licheng.jwtIssuer" -}}
{{- .Values.auth.issuer | default (include "licheng.keycloakRealmUrl" .) -}}
{{- end -}}

{{/* The URL of a component: its Service, or `componentHost` on a single host (dict "root" $ "name" "identity") */}}
{{- define "licheng.componentUrl" -}}
{{- $c := index .root.Values.components .name -}}
{{- $host := .root.Values.componentHost | default (printf "%s-%s" (include "licheng.fullname" .root) .name) -}}
{{- printf "http://%s:%v" $host $c.port -}}
{{- end -}}

{{/* Settings of one component, rendered as ConfigMap data: the chart's, then `common`, then
the component's own `env` (a later one wins), each under the component's prefix. */}}
{{- define "licheng.settings" -}}
{{- $root := .root -}}
{{- $name := .name -}}
{{- $c := .component -}}
{{- $s := dict
  "PORT" (toString $c.port)
  "PUBLIC_URL" (printf "https://%s" $root.Values.publicHost)
  "NATS_URL" (include "licheng.natsUrl" $root)
  "NATS_STREAM_REPLICAS" (toString $root.Values.nats.streamReplicas)
  "S3_ENDPOINT" $root.Values.s3.endpoint
  "S3_SECURE" (toString $root.Values.s3.secure)
  "UPLOADS_BUCKET" $root.Values.s3.uploadsBucket
  "EXPORTS_BUCKET" $root.Values.s3.exportsBucket
  "JWKS_URL" (include "licheng.jwksUrl" $root)
  "JWT_ISSUER" (include "licheng.jwtIssuer" $root)
-}}
{{- if eq $name "identity" }}
{{- $_ := set $s "KEYCLOAK_URL" $root.Values.keycloak.url }}
{{- $_ := set $s "KEYCLOAK_REALM" $root.Values.keycloak.realm }}
{{- end }}
{{- if or (eq $name "exports") (eq $name "exports-worker") }}
{{- $_ := set $s "IDENTITY_URL" (include "licheng.componentUrl" (dict "root" $root "name" "identity")) }}
{{- $_ := set $s "TOKEN_URL" (printf "%s/protocol/openid-connect/token" (include "licheng.keycloakRealmUrl" $root)) }}
{{- end }}
{{- if eq $name "web" }}
{{- $_ := set $s "GATEWAY_URL" (include "licheng.componentUrl" (dict "root" $root "name" "gateway")) }}
{{- $_ := set $s "OIDC_ISSUER" (include "licheng.keycloakRealmUrl" $root) }}
{{- end }}
{{- if eq $name "gateway" }}
{{- $upstreams := dict }}
{{- range $service := list "identity" "course-outcomes" "performances" "guidance" "exports" }}
{{- $_ := set $upstreams $service (include "licheng.componentUrl" (dict "root" $root "name" $service)) }}
{{- end }}
{{- $_ := set $s "UPSTREAMS" ($upstreams | toJson) }}
{{- $_ := set $s "PORTAL_URL" (include "licheng.componentUrl" (dict "root" $root "name" "web")) }}
{{- $_ := set $s "RATE_LIMIT_STORAGE_URI" $root.Values.redis.url }}
{{- end }}
{{- range $key, $value := $root.Values.common }}
{{- $_ := set $s $key (toString $value) }}
{{- end }}
{{- range $key, $value := $c.env }}
{{- $_ := set $s $key (toString $value) }}
{{- end }}
{{- range $key := keys $s | sortAlpha }}
{{ $c.prefix }}{{ $key }}: {{ index $s $key | quote }}
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
