// Package manager holds the seed README's example load calculator. The
// example was written to sit beside imager's own LoadCalculator, so this
// file names it here.
package manager

import imagermanager "github.com/PeladoCollado/imager/orchestrator/manager"

// LoadCalculator is imager's load calculator contract.
type LoadCalculator = imagermanager.LoadCalculator
