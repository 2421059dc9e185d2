{{/*
The name a tenant's objects get: its id, or its name in lower case with every run of other
characters as "-" ("Ada Lovelace" is ada-lovelace), at most 40 characters.
*/}}
{{- define "tenant-access.tenantName" -}}
{{- $slug := .id | default (regexReplaceAll "[^a-z0-9]+" (lower .name) "-") | trunc 40 | trimAll "-" -}}
{{- if not $slug -}}
{{- fail (printf "tenant %q: its name gives no object name (no letters a-z or digits): set id" .name) -}}
{{- end -}}
{{- $slug -}}
{{- end -}}

{{/* Labels of every object of the release; the tenant's is added per object. */}}
{{- define "tenant-access.labels" -}}
app.kubernetes.io/name: tenant-access
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}
