package main

import (
	"database/sql"

	"example.com/seedext/manager"
	"example.com/seedext/requests"
)

// The seed README's main calls these unqualified, as if the example source
// and calculator were in its own package; here they forward to the
// example's packages.

// NewDBRequestSource forwards to the example's request source.
func NewDBRequestSource(db *sql.DB) *requests.DBRequestSource {
	return requests.NewDBRequestSource(db)
}

// NewRandomSpikeLoadCalculator forwards to the example's calculator.
func NewRandomSpikeLoadCalculator(minRPS, maxRPS, baselineRPS, maxSpikeRPS, spikeChance int) manager.LoadCalculator {
	return manager.NewRandomSpikeLoadCalculator(minRPS, maxRPS, baselineRPS, maxSpikeRPS, spikeChance)
}

// openDB stands for the program's database; no driver is linked, so the
// db source fails on its first query.
func openDB() *sql.DB {
	db, _ := sql.Open("none", "")
	return db
}
