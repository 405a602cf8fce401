package kubernetes_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"

	"github.com/hookline/hookline/internal/testsupport/testenv"
)

// kedaVersion is the KEDA release whose CRD schemas and scaler sources the KEDA objects are
// checked against. It is fetched through the Go module proxy (or the module cache), not required
// by go.mod. v2.21.1 needs a newer Go than this module's.
const kedaVersion = "v2.21.0"

// overlays maps each overlay to the KEDA trigger type its ScaledObject must use.
var overlays = map[string]string{
	"rabbitmq":         "rabbitmq",
	"azure-servicebus": "azure-servicebus",
	"aws-sqs-queue":    "aws-sqs-queue",
	"gcp-pubsub":       "prometheus",
}

// scalerSources lists, per trigger type, the files of KEDA's module whose `keda:"name=..."` tags
// declare the trigger's metadata and authentication parameters.
var scalerSources = map[string][]string{
	"rabbitmq":         {"pkg/scalers/rabbitmq_scaler.go"},
	"azure-servicebus": {"pkg/scalers/azure_servicebus_scaler.go"},
	"aws-sqs-queue":    {"pkg/scalers/aws_sqs_queue_scaler.go"},
	"prometheus":       {"pkg/scalers/prometheus_scaler.go", "pkg/scalers/authentication/authentication_types.go"},
}

// object is one rendered document: its JSON and what it decoded to.
type object struct {
	kind, name string
	json       []byte
	value      any // *appsv1.Deployment, ... or map[string]any for KEDA kinds
}

func TestBase(t *testing.T) {
	objs := render(t, "base")
	checkCommon(t, objs)
	for _, o := range objs {
		if strings.HasPrefix(o.kind, "keda.sh/") {
			t.Errorf("the base has a KEDA object %s %s; they belong in the overlays", o.kind, o.name)
		}
	}
}

func TestOverlays(t *testing.T) {
	dirs, err := filepath.Glob("overlays/*")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range dirs {
		names = append(names, filepath.Base(d))
	}
	var want []string
	for n := range overlays {
		want = append(want, n)
	}
	slices.Sort(want)
	if !slices.Equal(names, want) {
		t.Fatalf("overlays = %v, want %v", names, want)
	}
	for name, trigger := range overlays {
		t.Run(name, func(t *testing.T) {
			objs := render(t, filepath.Join("overlays", name))
			checkCommon(t, objs)
			checkKEDA(t, objs, trigger)
			cm := configMap(t, objs)
			for _, k := range []string{"HOOKLINE_CHANNEL", "HOOKLINE_SUBSCRIPTION", "HOOKLINE_DEADLETTER"} {
				if cm.Data[k] == "" {
					t.Errorf("ConfigMap %s has no %s", cm.Name, k)
				}
			}
		})
	}
}

// TestStrictness shows that the checks below fail on what they are meant to catch: an unknown
// field in a built-in object and in a KEDA object, a wrong type, a metadata key KEDA does not know.
func TestStrictness(t *testing.T) {
	if _, err := decodeBuiltin("apps/v1", "Deployment", []byte(`{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"x"},"spec":{"template":{"spec":{"containers":[{"name":"c","readOnlyRootFileSystem":true}]}}}}`)); err == nil {
		t.Error("an unknown field in a container decoded without error")
	}
	if _, err := decodeBuiltin("apps/v1", "Deployment", []byte(`{"apiVersion":"apps/v1","kind":"Deployment","Metadata":{"name":"x"}}`)); err == nil {
		t.Error("a field in the wrong case decoded without error")
	}
	if _, err := decodeBuiltin("v1", "Pod", []byte(`{}`)); err == nil {
		t.Error("a kind the test does not expect decoded without error")
	}
	crd := kedaSchema(t, "scaledobjects")
	bad := map[string]string{
		"unknown field under spec":   `{"spec":{"scaleTargetRef":{"name":"d"},"triggers":[{"type":"rabbitmq","metadata":{}}],"minReplicas":1}}`,
		"unknown field in a trigger": `{"spec":{"scaleTargetRef":{"name":"d"},"triggers":[{"type":"rabbitmq","metadata":{},"auth":"x"}]}}`,
		"string for an integer":      `{"spec":{"scaleTargetRef":{"name":"d"},"triggers":[{"type":"rabbitmq","metadata":{}}],"maxReplicaCount":"10"}}`,
		"missing required field":     `{"spec":{"scaleTargetRef":{"name":"d"}}}`,
		"metadata value not string":  `{"spec":{"scaleTargetRef":{"name":"d"},"triggers":[{"type":"rabbitmq","metadata":{"value":5}}]}}`,
		"min above max":              `{"spec":{"scaleTargetRef":{"name":"d"},"triggers":[{"type":"rabbitmq","metadata":{}}],"minReplicaCount":5,"maxReplicaCount":2}}`,
	}
	for what, doc := range bad {
		var v map[string]any
		if err := json.Unmarshal([]byte(doc), &v); err != nil {
			t.Fatal(err)
		}
		if errs := validateKEDA(crd, v); len(errs) == 0 {
			t.Errorf("%s: the ScaledObject schema accepted %s", what, doc)
		}
	}
	meta, _ := scalerParams(t, "rabbitmq")
	if meta["queueName"] == nil || meta["queuename"] != nil {
		t.Errorf("rabbitmq trigger metadata parsed from KEDA's source: %v", meta)
	}
}

// render runs kubectl kustomize on dir and decodes every document strictly.
func render(t *testing.T, dir string) []object {
	t.Helper()
	_, err := exec.LookPath("kubectl")
	testenv.Require(t, "kubectl", err)
	var stderr bytes.Buffer
	cmd := exec.Command("kubectl", "kustomize", dir)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("kubectl kustomize %s: %v\n%s", dir, err, stderr.String())
	}
	var objs []object
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(out)))
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s: reading the rendered YAML: %v", dir, err)
		}
		if len(bytes.TrimSpace(doc)) == 0 {
			continue
		}
		js, err := yaml.YAMLToJSONStrict(doc)
		if err != nil {
			t.Fatalf("%s: %v\n%s", dir, err, doc)
		}
		var tm metav1.TypeMeta
		if err := json.Unmarshal(js, &tm); err != nil {
			t.Fatalf("%s: %v", dir, err)
		}
		o := object{kind: tm.APIVersion + "/" + tm.Kind, json: js}
		if tm.APIVersion == "keda.sh/v1alpha1" {
			o.value, o.name = decodeKEDA(t, tm.Kind, js)
		} else {
			v, err := decodeBuiltin(tm.APIVersion, tm.Kind, js)
			if err != nil {
				t.Errorf("%s: %v\n%s", dir, err, doc)
				continue
			}
			o.value, o.name = v, reflect.ValueOf(v).Elem().FieldByName("ObjectMeta").Interface().(metav1.ObjectMeta).Name
		}
		objs = append(objs, o)
	}
	if len(objs) == 0 {
		t.Fatalf("%s rendered nothing", dir)
	}
	return objs
}

// decodeBuiltin decodes js into the Kubernetes API type of apiVersion and kind, failing on
// unknown or duplicate fields and on fields in the wrong case, as the API server's strict
// decoding does.
func decodeBuiltin(apiVersion, kind string, js []byte) (any, error) {
	var v any
	switch apiVersion + "/" + kind {
	case "apps/v1/Deployment":
		v = &appsv1.Deployment{}
	case "v1/Service":
		v = &corev1.Service{}
	case "v1/ConfigMap":
		v = &corev1.ConfigMap{}
	case "v1/ServiceAccount":
		v = &corev1.ServiceAccount{}
	case "policy/v1/PodDisruptionBudget":
		v = &policyv1.PodDisruptionBudget{}
	case "autoscaling/v2/HorizontalPodAutoscaler":
		v = &autoscalingv2.HorizontalPodAutoscaler{}
	default:
		return nil, fmt.Errorf("unexpected kind %s/%s", apiVersion, kind)
	}
	strict, err := kjson.UnmarshalStrict(js, v)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", kind, err)
	}
	if len(strict) > 0 {
		return nil, fmt.Errorf("%s: %w", kind, errors.Join(strict...))
	}
	return v, nil
}

// decodeKEDA validates a KEDA object against the schema of KEDA's CRD: metadata strictly as
// ObjectMeta, the rest with validateKEDA.
func decodeKEDA(t *testing.T, kind string, js []byte) (map[string]any, string) {
	t.Helper()
	crd := map[string]string{"ScaledObject": "scaledobjects", "TriggerAuthentication": "triggerauthentications"}[kind]
	if crd == "" {
		t.Fatalf("unexpected KEDA kind %s", kind)
	}
	var v map[string]any
	if err := json.Unmarshal(js, &v); err != nil {
		t.Fatal(err)
	}
	var meta struct {
		Metadata metav1.ObjectMeta `json:"metadata"`
	}
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(js, &probe); err != nil {
		t.Fatal(err)
	}
	if strict, err := kjson.UnmarshalStrict([]byte(`{"metadata":`+string(probe["metadata"])+`}`), &meta); err != nil || len(strict) > 0 {
		t.Errorf("%s metadata: %v %v", kind, err, strict)
	}
	for _, err := range validateKEDA(kedaSchema(t, crd), v) {
		t.Errorf("%s %s: %v", kind, meta.Metadata.Name, err)
	}
	return v, meta.Metadata.Name
}

var kedaDir = sync.OnceValues(func() (string, error) {
	if _, err := exec.LookPath("go"); err != nil {
		return "", err
	}
	cmd := exec.Command("go", "mod", "download", "-json", "github.com/kedacore/keda/v2@"+kedaVersion)
	cmd.Dir = os.TempDir() // outside this module: nothing is added to go.mod or go.sum
	cmd.Env = append(os.Environ(), "GOFLAGS=", "GOWORK=off", "GO111MODULE=on")
	out, err := cmd.Output()
	var info struct{ Dir, Error string }
	if jerr := json.Unmarshal(out, &info); jerr == nil && info.Error != "" {
		return "", errors.New(info.Error)
	}
	if err != nil {
		return "", fmt.Errorf("go mod download: %w", err)
	}
	if info.Dir == "" {
		return "", fmt.Errorf("go mod download printed no Dir: %s", out)
	}
	return info.Dir, nil
})

func keda(t *testing.T) string {
	t.Helper()
	dir, err := kedaDir()
	testenv.Require(t, "KEDA "+kedaVersion+" from the Go module proxy", err)
	return dir
}

var schemas sync.Map // CRD plural -> map[string]any

// kedaSchema returns the openAPIV3Schema of version v1alpha1 of KEDA's CRD keda.sh_<plural>.yaml.
func kedaSchema(t *testing.T, plural string) map[string]any {
	t.Helper()
	if s, ok := schemas.Load(plural); ok {
		return s.(map[string]any)
	}
	b, err := os.ReadFile(filepath.Join(keda(t), "config", "crd", "bases", "keda.sh_"+plural+".yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var crd struct {
		Spec struct {
			Versions []struct {
				Name   string
				Schema struct {
					OpenAPIV3Schema map[string]any `json:"openAPIV3Schema"`
				}
			}
		}
	}
	if err := yaml.Unmarshal(b, &crd); err != nil {
		t.Fatal(err)
	}
	for _, v := range crd.Spec.Versions {
		if v.Name == "v1alpha1" && v.Schema.OpenAPIV3Schema != nil {
			schemas.Store(plural, v.Schema.OpenAPIV3Schema)
			return v.Schema.OpenAPIV3Schema
		}
	}
	t.Fatalf("keda.sh_%s.yaml has no v1alpha1 schema", plural)
	return nil
}

// validateKEDA checks v against a CRD's structural schema as the API server would prune and
// validate it, but stricter: a field the schema does not list is an error, not dropped. The root's
// metadata is checked separately (as ObjectMeta). The one CEL rule of KEDA's schemas
// (minReplicaCount <= maxReplicaCount) is checked by hand in validateRules.
func validateKEDA(schema map[string]any, v map[string]any) []error {
	props, _ := schema["properties"].(map[string]any)
	var errs []error
	for k, val := range v {
		if k == "metadata" {
			continue
		}
		s, ok := props[k].(map[string]any)
		if !ok {
			errs = append(errs, fmt.Errorf("unknown field %q", k))
			continue
		}
		errs = append(errs, validate(k, s, val)...)
	}
	if spec, ok := v["spec"].(map[string]any); ok {
		errs = append(errs, validateRules(spec)...)
	}
	return errs
}

func validate(path string, s map[string]any, v any) []error {
	errf := func(format string, args ...any) []error {
		return []error{fmt.Errorf("%s: "+format, append([]any{path}, args...)...)}
	}
	if s["x-kubernetes-int-or-string"] == true {
		switch x := v.(type) {
		case string:
		case float64:
			if x != math.Trunc(x) {
				return errf("%v is neither an integer nor a string", v)
			}
		default:
			return errf("%v is neither an integer nor a string", v)
		}
		return nil
	}
	if enum, ok := s["enum"].([]any); ok && !slices.Contains(enum, v) {
		return errf("%v is not one of %v", v, enum)
	}
	var errs []error
	switch s["type"] {
	case "object":
		m, ok := v.(map[string]any)
		if !ok {
			return errf("%v is not an object", v)
		}
		props, _ := s["properties"].(map[string]any)
		for k, val := range m {
			if ps, ok := props[k].(map[string]any); ok {
				errs = append(errs, validate(path+"."+k, ps, val)...)
				continue
			}
			switch ap := s["additionalProperties"].(type) {
			case map[string]any:
				errs = append(errs, validate(path+"."+k, ap, val)...)
				continue
			case bool:
				if ap {
					continue
				}
			}
			if s["x-kubernetes-preserve-unknown-fields"] == true {
				continue
			}
			errs = append(errs, fmt.Errorf("%s: unknown field %q", path, k))
		}
		req, _ := s["required"].([]any)
		for _, r := range req {
			if _, ok := m[r.(string)]; !ok {
				errs = append(errs, fmt.Errorf("%s: required field %q is missing", path, r))
			}
		}
	case "array":
		a, ok := v.([]any)
		if !ok {
			return errf("%v is not an array", v)
		}
		items, _ := s["items"].(map[string]any)
		for i, val := range a {
			errs = append(errs, validate(fmt.Sprintf("%s[%d]", path, i), items, val)...)
		}
	case "string":
		str, ok := v.(string)
		if !ok {
			return errf("%v is not a string", v)
		}
		if n, ok := s["minLength"].(float64); ok && float64(len(str)) < n {
			return errf("%q is shorter than %v", str, n)
		}
		if p, ok := s["pattern"].(string); ok {
			re, err := regexp.Compile(p)
			if err != nil {
				return errf("the schema's pattern %q: %v", p, err)
			}
			if !re.MatchString(str) {
				return errf("%q does not match %q", str, p)
			}
		}
	case "integer", "number":
		n, ok := v.(float64)
		if !ok || (s["type"] == "integer" && n != math.Trunc(n)) {
			return errf("%v is not an %s", v, s["type"])
		}
		if min, ok := s["minimum"].(float64); ok && n < min {
			return errf("%v is below the minimum %v", n, min)
		}
		if max, ok := s["maximum"].(float64); ok && n > max {
			return errf("%v is above the maximum %v", n, max)
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			return errf("%v is not a boolean", v)
		}
	case nil:
		if anyOf, ok := s["anyOf"].([]any); ok {
			for _, alt := range anyOf {
				if len(validate(path, alt.(map[string]any), v)) == 0 {
					return nil
				}
			}
			return errf("%v matches none of %v", v, anyOf)
		}
	default:
		return errf("the schema's type %v is not handled by this test", s["type"])
	}
	return errs
}

// validateRules checks the x-kubernetes-validations rule of ScaledObject's spec:
// !has(self.minReplicaCount) || self.minReplicaCount <= (has(self.maxReplicaCount) ? self.maxReplicaCount : 100)
func validateRules(spec map[string]any) []error {
	min, ok := spec["minReplicaCount"].(float64)
	if !ok {
		return nil
	}
	max := 100.0
	if m, ok := spec["maxReplicaCount"].(float64); ok {
		max = m
	}
	if min > max {
		return []error{fmt.Errorf("spec: minReplicaCount %v must be less than or equal to maxReplicaCount %v", min, max)}
	}
	return nil
}

// param is what a `keda:"..."` tag says of one parameter.
type param struct {
	orders   []string // triggerMetadata, authParams, resolvedEnv
	required bool
}

var kedaTag = regexp.MustCompile("keda:\"([^\"]*)\"")

// scalerParams reads the trigger metadata and the authentication parameters a scaler accepts from
// the `keda:"name=..., order=..."` tags of its source in KEDA's module.
func scalerParams(t *testing.T, trigger string) (meta, auth map[string]*param) {
	t.Helper()
	meta, auth = map[string]*param{}, map[string]*param{}
	files := scalerSources[trigger]
	if files == nil {
		t.Fatalf("no KEDA source known for trigger %s", trigger)
	}
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(keda(t), f))
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range kedaTag.FindAllStringSubmatch(string(b), -1) {
			var names []string
			p := &param{required: true}
			for _, part := range strings.Split(m[1], ",") {
				part = strings.TrimSpace(part)
				switch {
				case strings.HasPrefix(part, "name="):
					names = strings.Split(strings.TrimPrefix(part, "name="), ";")
				case strings.HasPrefix(part, "order="):
					p.orders = strings.Split(strings.TrimPrefix(part, "order="), ";")
				case part == "optional", strings.HasPrefix(part, "default="):
					p.required = false
				}
			}
			if strings.Contains(f, "/authentication/") {
				p.required = false // each is required by one authModes value only
			}
			for _, n := range names {
				if slices.Contains(p.orders, "triggerMetadata") {
					meta[n] = p
				}
				if slices.Contains(p.orders, "authParams") {
					auth[n] = p
				}
			}
		}
	}
	if len(meta) == 0 {
		t.Fatalf("found no trigger metadata in KEDA's %v", files)
	}
	return meta, auth
}

// checkKEDA checks the overlay's ScaledObject: it scales the consumer Deployment with one trigger
// of the given type whose metadata keys KEDA's scaler knows, and whose TriggerAuthentication is in
// the overlay, reads the Secret hookline and passes parameters the scaler accepts.
func checkKEDA(t *testing.T, objs []object, trigger string) {
	t.Helper()
	auths := map[string]map[string]any{}
	var scaled []map[string]any
	for _, o := range objs {
		switch o.kind {
		case "keda.sh/v1alpha1/TriggerAuthentication":
			auths[o.name] = o.value.(map[string]any)
		case "keda.sh/v1alpha1/ScaledObject":
			scaled = append(scaled, o.value.(map[string]any))
		}
	}
	if len(scaled) != 1 {
		t.Fatalf("%d ScaledObjects, want 1", len(scaled))
	}
	var so struct {
		Spec struct {
			ScaleTargetRef                                   struct{ APIVersion, Kind, Name string }
			MinReplicaCount, MaxReplicaCount, CooldownPeriod *int32
			Triggers                                         []struct {
				Type              string
				Metadata          map[string]string
				AuthenticationRef *struct{ Name, Kind string }
			}
		}
	}
	remarshal(t, scaled[0], &so)
	ref := so.Spec.ScaleTargetRef
	if ref.Name != "hookline-consumer" || ref.Kind != "Deployment" || ref.APIVersion != "apps/v1" {
		t.Errorf("scaleTargetRef = %+v, want apps/v1 Deployment hookline-consumer", ref)
	}
	if so.Spec.MinReplicaCount == nil || so.Spec.MaxReplicaCount == nil || so.Spec.CooldownPeriod == nil {
		t.Error("the ScaledObject leaves minReplicaCount, maxReplicaCount or cooldownPeriod to KEDA's defaults")
	}
	if len(so.Spec.Triggers) != 1 || so.Spec.Triggers[0].Type != trigger {
		t.Fatalf("triggers = %+v, want one of type %s", so.Spec.Triggers, trigger)
	}
	tr := so.Spec.Triggers[0]
	metaParams, authParams := scalerParams(t, trigger)
	for k := range tr.Metadata {
		if metaParams[k] == nil {
			t.Errorf("trigger %s: KEDA %s's scaler has no metadata %q", trigger, kedaVersion, k)
		}
	}
	given := map[string]bool{}
	if tr.AuthenticationRef != nil {
		if tr.AuthenticationRef.Kind != "" && tr.AuthenticationRef.Kind != "TriggerAuthentication" {
			t.Errorf("authenticationRef kind %s", tr.AuthenticationRef.Kind)
		}
		a, ok := auths[tr.AuthenticationRef.Name]
		if !ok {
			t.Fatalf("authenticationRef %s is not in the overlay", tr.AuthenticationRef.Name)
		}
		var ta struct {
			Spec struct {
				SecretTargetRef []struct{ Parameter, Name, Key string }
				PodIdentity     *struct{ Provider string }
			}
		}
		remarshal(t, a, &ta)
		if len(ta.Spec.SecretTargetRef) == 0 && ta.Spec.PodIdentity == nil {
			t.Errorf("TriggerAuthentication %s gives neither secrets nor a pod identity", tr.AuthenticationRef.Name)
		}
		for _, s := range ta.Spec.SecretTargetRef {
			if s.Name != "hookline" {
				t.Errorf("TriggerAuthentication reads Secret %s; the README tells users to create hookline", s.Name)
			}
			if authParams[s.Parameter] == nil {
				t.Errorf("TriggerAuthentication parameter %q: KEDA %s's %s scaler takes no such parameter", s.Parameter, kedaVersion, trigger)
			}
			given[s.Parameter] = true
		}
	}
	for k, p := range metaParams {
		if !p.required || tr.Metadata[k] != "" || given[k] || tr.Metadata[k+"FromEnv"] != "" {
			continue
		}
		t.Errorf("trigger %s lacks %q, which KEDA's scaler requires", trigger, k)
	}
}

// checkCommon checks what the base and every overlay share: both Deployments with their role,
// probes, resources and restricted security context, the Service, the HPA and the budgets.
func checkCommon(t *testing.T, objs []object) {
	t.Helper()
	byKind := map[string]map[string]any{}
	for _, o := range objs {
		if byKind[o.kind] == nil {
			byKind[o.kind] = map[string]any{}
		}
		if _, dup := byKind[o.kind][o.name]; dup {
			t.Errorf("two %s named %s", o.kind, o.name)
		}
		byKind[o.kind][o.name] = o.value
		if o.kind == "v1/Secret" {
			t.Errorf("a Secret is rendered; secrets are created by the user, never committed")
		}
	}
	cm := configMap(t, objs)
	if cm.Data["PORT"] != "8080" || cm.Data["HOOKLINE_HOST"] != "0.0.0.0" {
		t.Errorf("ConfigMap: PORT=%q HOOKLINE_HOST=%q, want 8080 on 0.0.0.0 (the probes and the Service)", cm.Data["PORT"], cm.Data["HOOKLINE_HOST"])
	}
	if _, ok := byKind["v1/ServiceAccount"]["hookline"]; !ok {
		t.Error("no ServiceAccount hookline")
	}
	pods := map[string]map[string]string{}
	for _, role := range []string{"webhook", "consumer"} {
		d, ok := byKind["apps/v1/Deployment"]["hookline-"+role].(*appsv1.Deployment)
		if !ok {
			t.Errorf("no Deployment hookline-%s", role)
			continue
		}
		checkDeployment(t, d, role, cm.Name)
		pods[role] = d.Spec.Template.Labels
		pdb, ok := byKind["policy/v1/PodDisruptionBudget"]["hookline-"+role].(*policyv1.PodDisruptionBudget)
		if !ok {
			t.Errorf("no PodDisruptionBudget hookline-%s", role)
		} else if !selects(pdb.Spec.Selector.MatchLabels, d.Spec.Template.Labels) || selects(pdb.Spec.Selector.MatchLabels, pods[other(role)]) {
			t.Errorf("PodDisruptionBudget hookline-%s selects %v", role, pdb.Spec.Selector.MatchLabels)
		}
	}
	svc, ok := byKind["v1/Service"]["hookline-webhook"].(*corev1.Service)
	if !ok {
		t.Fatal("no Service hookline-webhook")
	}
	if !selects(svc.Spec.Selector, pods["webhook"]) || selects(svc.Spec.Selector, pods["consumer"]) {
		t.Errorf("Service selects %v; webhook pods %v, consumer pods %v", svc.Spec.Selector, pods["webhook"], pods["consumer"])
	}
	if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Port != 80 || svc.Spec.Ports[0].TargetPort.String() != "http" {
		t.Errorf("Service ports %+v, want 80 to the container port http", svc.Spec.Ports)
	}
	hpa, ok := byKind["autoscaling/v2/HorizontalPodAutoscaler"]["hookline-webhook"].(*autoscalingv2.HorizontalPodAutoscaler)
	if !ok {
		t.Fatal("no HorizontalPodAutoscaler hookline-webhook")
	}
	if r := hpa.Spec.ScaleTargetRef; r.Kind != "Deployment" || r.Name != "hookline-webhook" {
		t.Errorf("the HPA scales %+v", r)
	}
	if len(hpa.Spec.Metrics) != 1 || hpa.Spec.Metrics[0].Resource == nil || hpa.Spec.Metrics[0].Resource.Name != corev1.ResourceCPU {
		t.Errorf("the HPA scales on %+v, want CPU", hpa.Spec.Metrics)
	}
	if hpa.Spec.MinReplicas == nil || *hpa.Spec.MinReplicas < 2 {
		t.Error("the webhook's HPA allows fewer than 2 replicas; its budget then blocks every drain")
	}
	if len(byKind["autoscaling/v2/HorizontalPodAutoscaler"]) != 1 {
		t.Error("an HPA other than the webhook's: KEDA makes the consumer's")
	}
}

func checkDeployment(t *testing.T, d *appsv1.Deployment, role, configMap string) {
	t.Helper()
	p := d.Spec.Template.Spec
	if d.Spec.Replicas != nil {
		t.Errorf("%s sets replicas; its autoscaler owns them", d.Name)
	}
	if !selects(d.Spec.Selector.MatchLabels, d.Spec.Template.Labels) {
		t.Errorf("%s: selector %v does not select its pods %v", d.Name, d.Spec.Selector.MatchLabels, d.Spec.Template.Labels)
	}
	if p.ServiceAccountName != "hookline" {
		t.Errorf("%s runs as ServiceAccount %q", d.Name, p.ServiceAccountName)
	}
	if p.TerminationGracePeriodSeconds == nil || *p.TerminationGracePeriodSeconds != 40 {
		t.Errorf("%s: terminationGracePeriodSeconds %v, want 40 (hookline drains within 30 s)", d.Name, p.TerminationGracePeriodSeconds)
	}
	ps := p.SecurityContext
	if ps == nil || !isTrue(ps.RunAsNonRoot) || ps.RunAsUser == nil || *ps.RunAsUser != 65532 ||
		ps.SeccompProfile == nil || ps.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("%s: pod securityContext %+v is not restricted", d.Name, ps)
	}
	if len(p.Containers) != 1 {
		t.Fatalf("%s has %d containers", d.Name, len(p.Containers))
	}
	c := p.Containers[0]
	if c.Image != "hookline:dev" {
		t.Errorf("%s: image %q, want hookline:dev (users set theirs with kustomize's images)", d.Name, c.Image)
	}
	env := map[string]string{}
	for _, e := range c.Env {
		env[e.Name] = e.Value
	}
	if env["HOOKLINE_ROLE"] != role {
		t.Errorf("%s: HOOKLINE_ROLE=%q, want %s", d.Name, env["HOOKLINE_ROLE"], role)
	}
	var fromCM, fromSecret bool
	for _, e := range c.EnvFrom {
		if e.ConfigMapRef != nil && e.ConfigMapRef.Name == configMap {
			fromCM = true
		}
		if e.SecretRef != nil && e.SecretRef.Name == "hookline" && !isTrue(e.SecretRef.Optional) {
			fromSecret = true
		}
	}
	if !fromCM || !fromSecret {
		t.Errorf("%s: envFrom %+v, want the ConfigMap %s and the Secret hookline (not optional)", d.Name, c.EnvFrom, configMap)
	}
	if len(c.Ports) == 0 || c.Ports[0].Name != "http" || c.Ports[0].ContainerPort != 8080 {
		t.Errorf("%s: ports %+v, want http 8080 first", d.Name, c.Ports)
	}
	for probe, want := range map[*corev1.Probe]string{c.LivenessProbe: "/healthz", c.ReadinessProbe: "/readyz"} {
		if probe == nil || probe.HTTPGet == nil || probe.HTTPGet.Path != want || probe.HTTPGet.Port.String() != "http" {
			t.Errorf("%s: probe for %s is %+v", d.Name, want, probe)
		}
	}
	for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		if _, ok := c.Resources.Requests[r]; !ok {
			t.Errorf("%s: no %s request", d.Name, r)
		}
	}
	if _, ok := c.Resources.Limits[corev1.ResourceMemory]; !ok {
		t.Errorf("%s: no memory limit", d.Name)
	}
	sc := c.SecurityContext
	if sc == nil || !isTrue(sc.RunAsNonRoot) || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
		!isTrue(sc.ReadOnlyRootFilesystem) || sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) ||
		len(sc.Capabilities.Add) > 0 || isTrue(sc.Privileged) {
		t.Errorf("%s: container securityContext %+v is not restricted with a read-only root", d.Name, sc)
	}
	var tmp bool
	for _, m := range c.VolumeMounts {
		for _, v := range p.Volumes {
			if m.MountPath == "/tmp" && m.Name == v.Name && v.EmptyDir != nil {
				tmp = true
			}
		}
	}
	if !tmp {
		t.Errorf("%s: no emptyDir at /tmp", d.Name)
	}
}

func configMap(t *testing.T, objs []object) *corev1.ConfigMap {
	t.Helper()
	var cms []*corev1.ConfigMap
	for _, o := range objs {
		if cm, ok := o.value.(*corev1.ConfigMap); ok {
			cms = append(cms, cm)
		}
	}
	if len(cms) != 1 || !strings.HasPrefix(cms[0].Name, "hookline-") {
		t.Fatalf("ConfigMaps %v, want one generated from hookline", cms)
	}
	for k, v := range cms[0].Data {
		if strings.Contains(strings.ToUpper(k), "SECRET") || strings.Contains(v, "password") {
			t.Errorf("ConfigMap %s: %s looks secret; it belongs in the Secret", cms[0].Name, k)
		}
	}
	return cms[0]
}

func remarshal(t *testing.T, from, to any) {
	t.Helper()
	b, err := json.Marshal(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, to); err != nil {
		t.Fatal(err)
	}
}

// selects reports whether the selector's labels are all on the pod.
func selects(selector, pod map[string]string) bool {
	if len(selector) == 0 {
		return false
	}
	for k, v := range selector {
		if pod[k] != v {
			return false
		}
	}
	return true
}

func other(role string) string {
	if role == "webhook" {
		return "consumer"
	}
	return "webhook"
}

func isTrue(b *bool) bool { return b != nil && *b }
