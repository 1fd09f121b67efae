package main

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metricsHandler serves Prometheus metrics: the Go runtime and process, and
// Tether's own, read from the services when scraped (so the services need no
// Prometheus code of their own).
func (a *app) metricsHandler() http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "tether_call_log_queued_calls",
			Help: "Calls waiting to be written to the call log.",
		}, func() float64 { return float64(a.calls.Stats().Queued) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "tether_call_log_written_calls_total",
			Help: "Calls committed to the call log (and applied to health).",
		}, func() float64 { return float64(a.calls.Stats().Written) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "tether_call_log_lost_calls_total",
			Help: "Calls given up after retries: each one is also logged as an error.",
		}, func() float64 { return float64(a.calls.Stats().Lost) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "tether_pending_confirmation_checks",
			Help: "Confirmation checks (re-verifications, probes) queued or running.",
		}, func() float64 { return float64(a.monitor.Pending()) }),
	)
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
}
