package wire_test

import (
	"testing"

	"google.golang.org/protobuf/proto"
)

// roundTrip marshals msg and unmarshals the bytes into a new message of the
// same type, as the stream would carry it.
func roundTrip[M proto.Message](t *testing.T, msg M) M {
	t.Helper()
	b, err := proto.Marshal(msg)
	if err != nil {
		t.Fatalf("proto.Marshal(%T): %v", msg, err)
	}
	got := msg.ProtoReflect().New().Interface().(M)
	if err := proto.Unmarshal(b, got); err != nil {
		t.Fatalf("proto.Unmarshal(%T): %v", msg, err)
	}
	return got
}
