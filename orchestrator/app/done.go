package app

import "errors"

// doneNotice is what Run tells the executors when the test is over: whether
// it passed and how it ended, in the words of the results file's summary
// ("completed", "aborted", "interrupted" or "failed: ..."). runErr is what
// the recorder's finish returned.
func doneNotice(runErr error) (passed bool, reason string) {
	var ve *VerdictError
	switch {
	case errors.As(runErr, &ve):
		return false, ve.Summary.Stopped
	case runErr == nil:
		return true, "completed"
	case isStop(runErr):
		return true, "interrupted"
	default:
		return false, "failed: " + runErr.Error()
	}
}
