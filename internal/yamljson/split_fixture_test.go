package yamljson_test

import (
	"testing"

	"github.com/kubectl-flows/kubectl-flows/internal/yamljson"
	"github.com/kubectl-flows/kubectl-flows/test/fixture"
)

// The render benchmarks' project reads the same split or whole.
func TestToJSONStrictSplitLargeProject(t *testing.T) {
	doc := []byte(fixture.LargeProject(1000))
	want, err := yamljson.ToJSONStrict(doc)
	if err != nil {
		t.Fatal(err)
	}
	got, err := yamljson.ToJSONStrictSplit(doc)
	if err != nil || string(got) != string(want) {
		t.Fatalf("split: %v, %d bytes against %d whole, or bytes that differ", err, len(got), len(want))
	}
}
