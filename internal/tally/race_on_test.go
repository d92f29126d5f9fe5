//go:build race

package tally

const raceEnabled = true
