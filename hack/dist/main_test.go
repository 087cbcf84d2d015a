package main

import (
	"bytes"
	"testing"

	"github.com/kubectl-flows/kubectl-flows/krew"
)

func TestArchivesAreReproducible(t *testing.T) {
	files := map[string][]byte{"kubectl-flows": []byte("#!/bin/sh\necho flows\n"), "kubectl_complete-flows": []byte("x"), "LICENSE": []byte("Apache")}
	for name, f := range map[string]func(map[string][]byte) ([]byte, error){"tar.gz": krew.TarGz, "zip": krew.Zip} {
		a, err := f(files)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := f(files)
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs between two builds", name)
		}
	}
}
