package e2e

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	k8syaml "k8s.io/apimachinery/pkg/util/yaml"
)

// This file loads the YAML under deploy/ for manifests_test.go: every
// document is decoded strictly into its typed Kubernetes object, so a
// misspelt field is an error, not a silently ignored key.

// object is one decoded document of a manifest file.
type object struct {
	where     string // file:document, for messages
	kind      string
	name      string
	namespace string
	obj       any // *appsv1.Deployment, *batchv1.Job, *corev1.Service, ...
}

// id names an object as kind/namespace/name.
func (o object) id() string { return o.kind + "/" + o.namespace + "/" + o.name }

// kustomization is the part of a kustomization.yaml these tests read (a
// Kustomization, or a Component under deploy/components).
type kustomization struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Resources  []string `json:"resources"`
	Components []string `json:"components"`
	Patches    []struct {
		Path   string         `json:"path"`
		Patch  string         `json:"patch"`
		Target map[string]any `json:"target"`
	} `json:"patches"`
	ConfigMapGenerator []struct {
		Name      string   `json:"name"`
		Namespace string   `json:"namespace"`
		Files     []string `json:"files"`
		Options   struct {
			DisableNameSuffixHash bool              `json:"disableNameSuffixHash"`
			Labels                map[string]string `json:"labels"`
		} `json:"options"`
	} `json:"configMapGenerator"`
}

// newObject returns an empty typed object for kind; the manifests may hold
// only these kinds (no ClusterRole, no Secret, nothing cluster-wide beyond
// namespaces).
func newObject(kind string) (any, bool) {
	switch kind {
	case "Namespace":
		return &corev1.Namespace{}, true
	case "ServiceAccount":
		return &corev1.ServiceAccount{}, true
	case "ConfigMap":
		return &corev1.ConfigMap{}, true
	case "Service":
		return &corev1.Service{}, true
	case "Deployment":
		return &appsv1.Deployment{}, true
	case "Job":
		return &batchv1.Job{}, true
	case "Role":
		return &rbacv1.Role{}, true
	case "RoleBinding":
		return &rbacv1.RoleBinding{}, true
	case "NetworkPolicy":
		return &networkingv1.NetworkPolicy{}, true
	}
	return nil, false
}

// splitDocuments returns the non-empty YAML documents of data.
func splitDocuments(data []byte) ([][]byte, error) {
	r := k8syaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var docs [][]byte
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, err
		}
		if len(bytes.TrimSpace(stripComments(doc))) > 0 {
			docs = append(docs, doc)
		}
	}
}

// stripComments drops whole-line comments, to tell empty documents apart.
func stripComments(doc []byte) []byte {
	var out bytes.Buffer
	for line := range strings.Lines(string(doc)) {
		if !strings.HasPrefix(strings.TrimSpace(line), "#") {
			out.WriteString(line)
		}
	}
	return out.Bytes()
}

// decodeObjects strictly decodes every document of data (a file or
// kustomize output) into typed objects.
func decodeObjects(where string, data []byte) ([]object, error) {
	docs, err := splitDocuments(data)
	if err != nil {
		return nil, fmt.Errorf("%s: split documents: %w", where, err)
	}
	var out []object
	for i, doc := range docs {
		w := fmt.Sprintf("%s#%d", where, i)
		var meta struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
			Metadata   struct {
				Name      string `json:"name"`
				Namespace string `json:"namespace"`
			} `json:"metadata"`
		}
		if err := k8syaml.Unmarshal(doc, &meta); err != nil {
			return nil, fmt.Errorf("%s: %w", w, err)
		}
		obj, ok := newObject(meta.Kind)
		if !ok {
			return nil, fmt.Errorf("%s: kind %q (%s) is not one the manifests may hold", w, meta.Kind, meta.APIVersion)
		}
		if err := k8syaml.UnmarshalStrict(doc, obj); err != nil {
			return nil, fmt.Errorf("%s: %s %s: %w", w, meta.Kind, meta.Metadata.Name, err)
		}
		out = append(out, object{where: w, kind: meta.Kind, name: meta.Metadata.Name, namespace: meta.Metadata.Namespace, obj: obj})
	}
	return out, nil
}

// deployTree is everything under deploy/.
type deployTree struct {
	root    string                    // repository root
	objects []object                  // documents of every manifest (not patches)
	kusts   map[string]*kustomization // by directory, relative to root
	patches map[string][]byte         // patch files by path relative to root
}

// loadDeploy reads every .yaml file under deploy/ but the Helm chart:
// kustomization.yaml files, the patches they name, and the manifests
// (everything else).
func loadDeploy(t *testing.T) *deployTree {
	t.Helper()
	root := repoRoot(t)
	tree := &deployTree{root: root, kusts: map[string]*kustomization{}, patches: map[string][]byte{}}
	var manifests []string
	helm := filepath.Join(root, "deploy", "helm")
	err := filepath.WalkDir(filepath.Join(root, "deploy"), func(path string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() && path == helm {
			// A Helm chart holds templates, not manifests: the helm tests
			// in test/k8s/e2e render and check it.
			return fs.SkipDir
		}
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".yaml") {
			return err
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		if d.Name() != "kustomization.yaml" {
			manifests = append(manifests, rel)
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		var k kustomization
		if err := k8syaml.UnmarshalStrict(b, &k); err != nil {
			return fmt.Errorf("%s: %w", rel, err)
		}
		tree.kusts[filepath.Dir(rel)] = &k
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for dir, k := range tree.kusts {
		for _, p := range k.Patches {
			if p.Path != "" {
				tree.patches[filepath.Join(dir, p.Path)] = nil
			}
		}
	}
	for _, rel := range manifests {
		b, err := os.ReadFile(filepath.Join(root, rel))
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := tree.patches[rel]; ok {
			tree.patches[rel] = b
			continue
		}
		objs, err := decodeObjects(rel, b)
		if err != nil {
			t.Fatal(err)
		}
		tree.objects = append(tree.objects, objs...)
	}
	return tree
}

// byFile returns the objects decoded from the file rel.
func (d *deployTree) byFile(rel string) []object {
	var out []object
	for _, o := range d.objects {
		if strings.HasPrefix(o.where, rel+"#") {
			out = append(out, o)
		}
	}
	return out
}

// deployment returns the single Deployment in file rel.
func (d *deployTree) deployment(t *testing.T, rel string) *appsv1.Deployment {
	t.Helper()
	var deps []*appsv1.Deployment
	for _, o := range d.byFile(rel) {
		if dep, ok := o.obj.(*appsv1.Deployment); ok {
			deps = append(deps, dep)
		}
	}
	if len(deps) != 1 {
		t.Fatalf("%s holds %d Deployments, want 1", rel, len(deps))
	}
	return deps[0]
}
