// Package imagerv1 holds the Go bindings of the imager control-plane
// protocol defined in control.proto: the ControlPlane service, whose single
// bidirectional Connect stream carries ExecutorMessage values (Hello, Report,
// Heartbeat) from an executor and OrchestratorMessage values (Welcome, Job)
// from the orchestrator.
//
// control.pb.go and control_grpc.pb.go are generated; edit control.proto and
// run `make proto` from the repository root to regenerate them.
package imagerv1
