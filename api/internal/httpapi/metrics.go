package httpapi

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// metrics are the API's own figures; labels are bounded: the endpoint
// names of Handler, the methods it routes, the statuses it answers.
type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newMetrics(reg *prometheus.Registry) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "authlog_api_requests_total",
			Help: "Requests answered by authlog-api, by endpoint, method and HTTP status.",
		}, []string{"endpoint", "method", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "authlog_api_request_duration_seconds",
			Help:    "Time to answer a request, by endpoint.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 15),
		}, []string{"endpoint"}),
	}
	reg.MustRegister(m.requests, m.duration,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) observe(endpoint, method string, status int, elapsed time.Duration) {
	m.requests.WithLabelValues(endpoint, method, strconv.Itoa(status)).Inc()
	m.duration.WithLabelValues(endpoint).Observe(elapsed.Seconds())
}
