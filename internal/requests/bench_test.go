package requests

import (
	"strconv"
	"strings"
	"testing"
)

func BenchmarkRandomSumSourceNext(b *testing.B) {
	src, err := NewRandomSumSource("/sum", 1, 1000, 1)
	if err != nil {
		b.Fatalf("NewRandomSumSource: %v", err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := src.Next(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFileSourceNext(b *testing.B) {
	var content strings.Builder
	for i := range 100 {
		content.WriteString(`{"method":"GET","path":"/item/` + strconv.Itoa(i) + `","headers":{"Accept":["application/json"]}}` + "\n")
	}
	src, err := NewFileSource(writeRequests(b, content.String()))
	if err != nil {
		b.Fatalf("NewFileSource: %v", err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := src.Next(); err != nil {
			b.Fatal(err)
		}
	}
}
