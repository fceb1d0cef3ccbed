package flagstore

import (
	"net/http"
	"strings"
)

// metricRoutes are the metrics family: a project's experimentation metrics.
func (a *api) metricRoutes() []*route {
	const all, one = "/metrics/{projectKey}", "/metrics/{projectKey}/{metricKey}"
	return []*route{
		{method: http.MethodGet, path: all, operationID: "getMetrics", handle: a.getMetrics},
		{method: http.MethodPost, path: all, operationID: "postMetric", handle: a.postMetric},
		{method: http.MethodGet, path: one, operationID: "getMetric", handle: a.getMetric},
		{method: http.MethodPatch, path: one, operationID: "patchMetric", handle: a.patchMetric},
		{method: http.MethodDelete, path: one, operationID: "deleteMetric", handle: a.deleteMetric},
	}
}

// metricDataSource is LaunchDarkly's MetricDataSourceRefRep; flagstore's
// metrics all come from LaunchDarkly's own events.
type metricDataSource struct {
	Key  string `json:"key"`
	Name string `json:"_name"`
}

// metricRep is LaunchDarkly's MetricRep (and MetricListingRep): the metric
// with its links, data source and usage counts, which flagstore, having no
// experiments or metric groups, always gives as 0.
type metricRep struct {
	Metric
	Links             Links            `json:"_links"`
	Site              Link             `json:"_site"`
	DataSource        metricDataSource `json:"dataSource"`
	ExperimentCount   int              `json:"experimentCount"`
	MetricGroupCount  int              `json:"metricGroupCount"`
	AttachedFlagCount int              `json:"_attachedFlagCount"`
}

func newMetricRep(proj string, m Metric) metricRep {
	m.Tags = nonNil(m.Tags)
	return metricRep{
		Metric:     m,
		Links:      selfLinks(apiPath("metrics", proj, m.Key), apiPath("metrics", proj)),
		Site:       siteLink("/" + proj + "/metrics/" + m.Key + "/details"),
		DataSource: metricDataSource{Key: "launchdarkly", Name: "LaunchDarkly"},
	}
}

// metricExpands are the expand options LaunchDarkly offers on metrics;
// flagstore accepts them and has nothing to add.
var metricExpands = []string{"experiments", "experimentCount", "metricGroups", "metricGroupCount",
	"guardedRollouts", "guardedRolloutCount", "lastUsedInExperiment", "lastUsedInGuardedRollout"}

// getMetrics lists a project's metrics: filter query and tags ("+"-joined,
// all of them), sort name or createdAt, limit at most 50.
func (a *api) getMetrics(w http.ResponseWriter, r *http.Request) error {
	proj := r.PathValue("projectKey")
	limit, offset, err := pageOptions(r, DefaultLimit, MaxMetricLimit)
	if err != nil {
		return err
	}
	terms, err := filterTerms(r, "query", "tags")
	if err != nil {
		return err
	}
	sort, err := listSort(r, "name", "createdAt")
	if err != nil {
		return err
	}
	if _, err := expandSet(r, metricExpands...); err != nil {
		return err
	}
	if strings.TrimPrefix(sort, "-") == "createdAt" {
		sort = strings.TrimSuffix(sort, "createdAt") + "creationDate"
	}
	tags := splitFilterValue(terms["tags"], "+ ")
	o := ListOptions{Query: terms["query"], Sort: sort}
	if len(tags) > 0 {
		o.Tag = tags[0]
	}
	var items []Metric
	var total int
	if len(tags) <= 1 {
		o.Limit, o.Offset = limit, offset
		list, err := a.s.ListMetrics(r.Context(), proj, o)
		if err != nil {
			return err
		}
		items, total = list.Items, list.TotalCount
	} else {
		// Several tags: page through everything with the first, keep those
		// with all of them.
		var kept []Metric
		for off := 0; ; off += MaxMetricLimit {
			o.Limit, o.Offset = MaxMetricLimit, off
			list, err := a.s.ListMetrics(r.Context(), proj, o)
			if err != nil {
				return err
			}
			for _, m := range list.Items {
				if hasAllTags(m.Tags, tags) {
					kept = append(kept, m)
				}
			}
			if off+MaxMetricLimit >= list.TotalCount {
				break
			}
		}
		items, total = pageOf(kept, limit, offset), len(kept)
	}
	out := collection[metricRep]{Items: make([]metricRep, len(items)), TotalCount: total,
		Links: pageLinks(r, apiPath("metrics", proj), limit, offset, total)}
	for i, m := range items {
		out.Items[i] = newMetricRep(proj, m)
	}
	return writeJSON(w, http.StatusOK, out)
}

// postMetric creates a metric.
func (a *api) postMetric(w http.ResponseWriter, r *http.Request) error {
	var body MetricPost
	if err := decodeBody(r, &body); err != nil {
		return err
	}
	proj := r.PathValue("projectKey")
	m, err := a.s.CreateMetric(r.Context(), proj, body)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, newMetricRep(proj, m))
}

// getMetric returns one metric; a versionId other than the current one
// names nothing, as flagstore keeps no old versions.
func (a *api) getMetric(w http.ResponseWriter, r *http.Request) error {
	if _, err := expandSet(r, metricExpands...); err != nil {
		return err
	}
	proj, key := r.PathValue("projectKey"), r.PathValue("metricKey")
	m, err := a.s.GetMetric(r.Context(), proj, key)
	if err != nil {
		return err
	}
	if v := r.URL.Query().Get("versionId"); v != "" && v != m.VersionID {
		return notFoundf("Unknown version %q of metric %q", v, key)
	}
	return writeJSON(w, http.StatusOK, newMetricRep(proj, m))
}

// patchMetric updates a metric with JSON Patch.
func (a *api) patchMetric(w http.ResponseWriter, r *http.Request) error {
	patch, err := parsePatchRequest(r)
	if err != nil {
		return err
	}
	proj := r.PathValue("projectKey")
	m, err := a.s.PatchMetric(r.Context(), proj, r.PathValue("metricKey"), patch)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, newMetricRep(proj, m))
}

// deleteMetric deletes a metric.
func (a *api) deleteMetric(w http.ResponseWriter, r *http.Request) error {
	if err := a.s.DeleteMetric(r.Context(), r.PathValue("projectKey"), r.PathValue("metricKey")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
