package script

import (
	"errors"
	"sync"

	"github.com/PeladoCollado/imager/types"
)

// RequestSource is a request source backed by a scenario's request(). It
// owns one or more VMs. Next uses VM 0; NextBatch splits a batch across all
// VMs and runs them in parallel, as wrk runs one Lua state per thread.
// State a scenario keeps in Lua variables (counters, cursors into data) is
// therefore per VM: with several VMs, each walks its own sequence. VM i is
// seeded with VMConfig.Seed+i, so a given seed, VM count and sequence of
// batch sizes always produce the same requests in the same order.
//
// Like every types.RequestSource, it is for one goroutine at a time.
type RequestSource struct {
	vms  []*VM
	errs []error // per VM, reused between batches
}

var (
	_ types.RequestSource = (*RequestSource)(nil)
	_ types.BatchSource   = (*RequestSource)(nil)
)

// NewRequestSource makes a request source with vms VMs (at least 1). It
// fails when the scenario has no request() function.
func NewRequestSource(s *Scenario, cfg VMConfig, vms int) (*RequestSource, error) {
	vms = max(vms, 1)
	cfg = cfg.withDefaults()
	if cfg.Start.IsZero() {
		cfg.Start = cfg.Now()
	}
	src := &RequestSource{
		vms:  make([]*VM, 0, vms),
		errs: make([]error, vms),
	}
	for i := range vms {
		c := cfg
		c.Seed = cfg.Seed + int64(i)
		vm, err := s.NewVM(c)
		if err != nil {
			src.Close()
			return nil, err
		}
		src.vms = append(src.vms, vm)
		if !vm.Roles().Request {
			src.Close()
			return nil, &MissingFunctionError{Scenario: s.name, Function: FuncRequest}
		}
	}
	return src, nil
}

// VMs is the number of VMs the source runs.
func (r *RequestSource) VMs() int { return len(r.vms) }

// Next returns the next request from VM 0.
func (r *RequestSource) Next() (types.RequestSpec, error) {
	return r.vms[0].Request()
}

// NextBatch returns n requests: VM i makes the i-th share (n split as
// evenly as possible, earlier VMs taking the remainder), all VMs in
// parallel; the result lists VM 0's requests first, then VM 1's, and so
// on. Every goroutine it starts has ended when it returns. On an error
// the first failing VM's error (by index) is returned.
func (r *RequestSource) NextBatch(n int) ([]types.RequestSpec, error) {
	if n <= 0 {
		return nil, nil
	}
	out := make([]types.RequestSpec, n)
	k := len(r.vms)
	if k == 1 {
		for i := range out {
			spec, err := r.vms[0].Request()
			if err != nil {
				return nil, err
			}
			out[i] = spec
		}
		return out, nil
	}
	var wg sync.WaitGroup
	lo := 0
	for i, vm := range r.vms {
		size := n / k
		if i < n%k {
			size++
		}
		part := out[lo : lo+size]
		lo += size
		r.errs[i] = nil
		if size == 0 {
			continue
		}
		wg.Go(func() {
			for j := range part {
				spec, err := vm.Request()
				if err != nil {
					r.errs[i] = err
					return
				}
				part[j] = spec
			}
		})
	}
	wg.Wait()
	for _, err := range r.errs {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Reset calls reset() on every VM.
func (r *RequestSource) Reset() error {
	var errs []error
	for _, vm := range r.vms {
		errs = append(errs, vm.Reset())
	}
	return errors.Join(errs...)
}

// Close releases the VMs.
func (r *RequestSource) Close() {
	for _, vm := range r.vms {
		vm.Close()
	}
}
