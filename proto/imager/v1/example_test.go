package imagerv1_test

import (
	"fmt"
	"strings"

	imagerv1 "github.com/PeladoCollado/imager/proto/imager/v1"
)

// A job too large for one message travels as a Job and JobParts;
// the executor's JobAssembler puts it back together before running it.
func ExampleSplitJob() {
	job := &imagerv1.Job{JobId: "r3-exec-a", Round: 3, TargetUrl: "http://127.0.0.1:8080", Count: 40}
	for i := range 40 {
		job.Requests = append(job.Requests, &imagerv1.Request{
			Method: "POST", Path: fmt.Sprintf("/orders/%d", i), Body: []byte(strings.Repeat("x", 200)),
		})
	}
	msgs := imagerv1.SplitJob(job, 2048)
	fmt.Println("messages:", len(msgs) > 1)

	var asm imagerv1.JobAssembler
	var complete *imagerv1.Job
	for _, m := range msgs {
		var err error
		switch {
		case m.GetJob() != nil:
			complete, _, err = asm.Job(m.GetJob())
		case m.GetJobPart() != nil:
			complete, _, err = asm.Part(m.GetJobPart())
		}
		if err != nil {
			fmt.Println("assemble:", err)
			return
		}
	}
	fmt.Println("reassembled:", complete.GetJobId(), len(complete.GetRequests()), "requests")
	fmt.Println("last:", complete.GetRequests()[39].GetPath())
	// Output:
	// messages: true
	// reassembled: r3-exec-a 40 requests
	// last: /orders/39
}

// TokensMatch compares an executor's token with the orchestrator's in
// constant time; an empty expected token means authentication is off.
func ExampleTokensMatch() {
	fmt.Println(imagerv1.TokensMatch("s3cret", "s3cret"))
	fmt.Println(imagerv1.TokensMatch("s3cret", "guess"))
	fmt.Println(imagerv1.TokensMatch("", "anything"))
	// Output:
	// true
	// false
	// true
}
