package flagstore

import (
	"context"
	"reflect"
	"slices"
	"time"

	"github.com/flagstore/flagstore/internal/resource"
)

// Metric is an experimentation metric of a project, in the stored form of
// LaunchDarkly's MetricRep (the HTTP representation adds _links, _site,
// dataSource and the usage counts). Keys are immutable, and so is the kind.
type Metric struct {
	ID        string `json:"_id"`
	VersionID string `json:"_versionId"`
	Version   int    `json:"_version"`
	Key       string `json:"key"`
	Name      string `json:"name"`
	// Kind is "custom", "pageview" or "click".
	Kind        string   `json:"kind"`
	Description string   `json:"description"`
	Tags        []string `json:"tags"`
	// CreationDate is in Unix milliseconds.
	CreationDate int64         `json:"_creationDate"`
	LastModified *Modification `json:"lastModified,omitempty"`
	MaintainerID string        `json:"maintainerId,omitempty"`
	// IsNumeric (custom metrics only) tracks a value against a baseline
	// instead of a conversion.
	IsNumeric bool `json:"isNumeric"`
	// SuccessCriteria is "HigherThanBaseline" or "LowerThanBaseline".
	SuccessCriteria    string   `json:"successCriteria,omitempty"`
	Unit               string   `json:"unit,omitempty"`
	EventKey           string   `json:"eventKey,omitempty"`
	RandomizationUnits []string `json:"randomizationUnits"`
	// UnitAggregationType is "average" or "sum".
	UnitAggregationType string `json:"unitAggregationType,omitempty"`
	// Selector holds the CSS selectors of a click metric.
	Selector string `json:"selector,omitempty"`
	// URLs are the URL matchers of pageview and click metrics, each an
	// object with a "kind" (exact, canonical, substring, regex).
	URLs         []map[string]any    `json:"urls,omitempty"`
	EventDefault *MetricEventDefault `json:"eventDefault,omitempty"`
}

// Modification is LaunchDarkly's Modification: when a resource last changed,
// as an RFC 3339 date.
type Modification struct {
	Date string `json:"date"`
}

// MetricEventDefault is the value a numeric metric assumes for a context
// that sent no event.
type MetricEventDefault struct {
	Disabled bool    `json:"disabled"`
	Value    float64 `json:"value"`
}

// MetricPost is LaunchDarkly's MetricPost: key and kind are required; an
// empty name defaults to the key, empty randomization units to ["user"].
type MetricPost struct {
	Key                 string              `json:"key"`
	Name                string              `json:"name,omitempty"`
	Description         string              `json:"description,omitempty"`
	Kind                string              `json:"kind"`
	Selector            string              `json:"selector,omitempty"`
	URLs                []map[string]any    `json:"urls,omitempty"`
	IsNumeric           bool                `json:"isNumeric,omitempty"`
	Unit                string              `json:"unit,omitempty"`
	EventKey            string              `json:"eventKey,omitempty"`
	SuccessCriteria     string              `json:"successCriteria,omitempty"`
	Tags                []string            `json:"tags,omitempty"`
	RandomizationUnits  []string            `json:"randomizationUnits,omitempty"`
	MaintainerID        string              `json:"maintainerId,omitempty"`
	UnitAggregationType string              `json:"unitAggregationType,omitempty"`
	EventDefault        *MetricEventDefault `json:"eventDefault,omitempty"`
}

// Metric documents live at met/{proj}/{key} ("mt/" holds member → team
// references and "me/" the member email index, whose addresses may contain
// '/'); the list index is collection "mt".
func metricKey(proj, key string) string { return "met/" + proj + sep + key }
func metricPrefix(proj string) string   { return "met/" + proj + sep }
func metricIndex(proj string) index     { return index{coll: "mt", scope: proj} }
func metricRes(proj, key string) string { return projRes(proj) + ":metric/" + key }

// MaxMetricLimit is the largest page of a metrics list, as in LaunchDarkly.
const MaxMetricLimit = 50

func metricEntry(m *Metric) *entryOf {
	return &entryOf{key: m.Key, name: m.Name, created: m.CreationDate, tags: m.Tags}
}

// validMetric checks a metric's fields against each other and its kind.
func validMetric(m *Metric) error {
	if err := validName("name", m.Name); err != nil {
		return err
	}
	if err := validTags("tags", m.Tags); err != nil {
		return err
	}
	switch m.Kind {
	case "custom":
		if m.EventKey == "" {
			return invalidf("eventKey", "a custom metric needs an eventKey")
		}
		if m.Selector != "" || len(m.URLs) > 0 {
			return invalidf("kind", "selector and urls are for click and pageview metrics")
		}
	case "pageview", "click":
		if len(m.URLs) == 0 {
			return invalidf("urls", "a %s metric needs at least one url", m.Kind)
		}
		if m.Kind == "click" && m.Selector == "" {
			return invalidf("selector", "a click metric needs a selector")
		}
		if m.Kind == "pageview" && m.Selector != "" {
			return invalidf("selector", "a selector is for click metrics only")
		}
		if m.EventKey != "" || m.IsNumeric {
			return invalidf("kind", "eventKey and isNumeric are for custom metrics only")
		}
		for i, u := range m.URLs {
			if k, _ := u["kind"].(string); !slices.Contains([]string{"exact", "canonical", "substring", "regex"}, k) {
				return invalidf("urls", "urls[%d].kind must be exact, canonical, substring or regex", i)
			}
		}
	default:
		return invalidf("kind", "kind must be custom, pageview or click")
	}
	switch m.SuccessCriteria {
	case "", "HigherThanBaseline", "LowerThanBaseline":
	default:
		return invalidf("successCriteria", "successCriteria must be HigherThanBaseline or LowerThanBaseline")
	}
	if m.IsNumeric && m.SuccessCriteria == "" {
		return invalidf("successCriteria", "a numeric metric needs successCriteria")
	}
	if !m.IsNumeric && (m.Unit != "" || m.EventDefault != nil) {
		return invalidf("unit", "unit and eventDefault are for numeric metrics only")
	}
	switch m.UnitAggregationType {
	case "", "average", "sum":
	default:
		return invalidf("unitAggregationType", "unitAggregationType must be average or sum")
	}
	if len(m.RandomizationUnits) == 0 {
		return invalidf("randomizationUnits", "a metric needs at least one randomization unit")
	}
	seen := map[string]bool{}
	for _, u := range m.RandomizationUnits {
		if err := validKey("randomizationUnits", u); err != nil {
			return err
		}
		if seen[u] {
			return invalidf("randomizationUnits", "randomization unit %q is listed twice", u)
		}
		seen[u] = true
	}
	return nil
}

// modifiedNow is the lastModified of a write at now (Unix ms).
func modifiedNow(ms int64) *Modification {
	return &Modification{Date: time.UnixMilli(ms).UTC().Format(time.RFC3339Nano)}
}

// CreateMetric creates a metric in a project.
func (s *Store) CreateMetric(ctx context.Context, proj string, p MetricPost) (Metric, error) {
	if err := validKey("key", p.Key); err != nil {
		return Metric{}, err
	}
	name := p.Name
	if name == "" {
		name = p.Key
	}
	units := slices.Clone(p.RandomizationUnits)
	if len(units) == 0 {
		units = []string{"user"}
	}
	now := s.nowMillis()
	m := Metric{
		ID: s.newID(), VersionID: s.newID(), Version: 1,
		Key: p.Key, Name: name, Kind: p.Kind, Description: p.Description,
		Tags: nonNil(slices.Clone(p.Tags)), CreationDate: now, LastModified: modifiedNow(now),
		MaintainerID: p.MaintainerID, IsNumeric: p.IsNumeric, SuccessCriteria: p.SuccessCriteria,
		Unit: p.Unit, EventKey: p.EventKey, RandomizationUnits: units,
		UnitAggregationType: p.UnitAggregationType, Selector: p.Selector, URLs: cloneURLs(p.URLs),
	}
	if p.EventDefault != nil {
		d := *p.EventDefault
		m.EventDefault = &d
	}
	if err := validMetric(&m); err != nil {
		return Metric{}, err
	}
	err := s.update(ctx, func(w *wtx) error {
		var pr Project
		if _, err := getProject(&w.rtx, proj, &pr); err != nil {
			return err
		}
		if ok, err := w.exists(metricKey(proj, m.Key)); err != nil || ok {
			if ok {
				return existsf("A metric with key %q already exists in project %q", m.Key, proj)
			}
			return err
		}
		if err := w.put(metricKey(proj, m.Key), &m, 0); err != nil {
			return err
		}
		if err := metricIndex(proj).reindex(w, nil, metricEntry(&m)); err != nil {
			return err
		}
		return s.record(w, change{kind: "metric", verb: "created", name: m.Name, resource: metricRes(proj, m.Key),
			parent:   &AuditParent{Name: pr.Name, Resource: projRes(proj)},
			accesses: accessesOf(metricRes(proj, m.Key), "createMetric"), after: &m,
			self: &resource.Part{Type: resource.TypeMetric, Name: m.Key, Tags: m.Tags}})
	})
	if err != nil {
		return Metric{}, err
	}
	return m, nil
}

// cloneURLs copies the URL matchers one level deep, so that the result does
// not alias the caller's maps.
func cloneURLs(in []map[string]any) []map[string]any {
	if in == nil {
		return nil
	}
	out := make([]map[string]any, len(in))
	for i, u := range in {
		out[i] = make(map[string]any, len(u))
		for k, v := range u {
			out[i][k] = v
		}
	}
	return out
}

func getMetric(r *rtx, proj, key string, m *Metric) (uint64, error) {
	v, err := r.get(metricKey(proj, key), m)
	if err != nil {
		return 0, notFoundOr(err, "Unknown metric %q in project %q", key, proj)
	}
	return v, nil
}

// GetMetric returns one metric of a project.
func (s *Store) GetMetric(ctx context.Context, proj, key string) (Metric, error) {
	var m Metric
	err := s.view(ctx, func(r *rtx) error {
		var p Project
		if _, err := getProject(r, proj, &p); err != nil {
			return err
		}
		if err := s.authorizeView(ctx, r, proj); err != nil {
			return err
		}
		_, err := getMetric(r, proj, key, &m)
		return err
	})
	if err != nil {
		return Metric{}, err
	}
	return m, nil
}

// ListMetrics lists a project's metrics, by default oldest first; Limit is
// at most MaxMetricLimit. Sort by "name" or "creationDate" ("-" for
// descending); Tag and Query filter.
func (s *Store) ListMetrics(ctx context.Context, proj string, o ListOptions) (List[Metric], error) {
	if o.Limit > MaxMetricLimit {
		return List[Metric]{}, invalidf("limit", "limit must be at most %d", MaxMetricLimit)
	}
	var out List[Metric]
	err := s.view(ctx, func(r *rtx) error {
		var p Project
		if _, err := getProject(r, proj, &p); err != nil {
			return err
		}
		if err := s.authorizeView(ctx, r, proj); err != nil {
			return err
		}
		keys, total, err := metricIndex(proj).page(r, o, "creationDate")
		if err != nil {
			return err
		}
		out = List[Metric]{Items: make([]Metric, 0, len(keys)), TotalCount: total}
		for _, k := range keys {
			var m Metric
			if _, err := getMetric(r, proj, k, &m); err != nil {
				return err
			}
			out.Items = append(out.Items, m)
		}
		return nil
	})
	return out, err
}

// UpdateMetric applies fn to a copy of the metric and stores the result if
// it is valid. Key, kind, IDs, version and dates cannot change; a change
// bumps the version and gives a new version ID.
func (s *Store) UpdateMetric(ctx context.Context, proj, key string, fn func(*Metric) error) (Metric, error) {
	var after Metric
	err := s.update(ctx, func(w *wtx) error {
		var before Metric
		ver, err := getMetric(&w.rtx, proj, key, &before)
		if err != nil {
			return err
		}
		if _, err := getMetric(&w.rtx, proj, key, &after); err != nil {
			return err
		}
		if err := fn(&after); err != nil {
			return err
		}
		switch {
		case after.Key != before.Key:
			return invalidf("key", "a metric's key cannot change")
		case after.Kind != before.Kind:
			return invalidf("kind", "a metric's kind cannot change")
		case after.ID != before.ID:
			return invalidf("_id", "_id is read-only")
		case after.VersionID != before.VersionID:
			return invalidf("_versionId", "_versionId is read-only")
		case after.Version != before.Version:
			return invalidf("_version", "_version is read-only")
		case after.CreationDate != before.CreationDate:
			return invalidf("_creationDate", "_creationDate is read-only")
		case !reflect.DeepEqual(after.LastModified, before.LastModified):
			return invalidf("lastModified", "lastModified is read-only")
		}
		after.Tags = nonNil(after.Tags)
		if err := validMetric(&after); err != nil {
			return err
		}
		actions := changedActions(metricFieldActions, &before, &after)
		if len(actions) == 0 {
			after = before
			return s.authorizeView(w.ctx, &w.rtx, proj) // the result is a read
		}
		now := s.nowMillis()
		after.Version++
		after.VersionID = s.newID()
		after.LastModified = modifiedNow(now)
		if err := w.put(metricKey(proj, key), &after, ver); err != nil {
			return err
		}
		if err := metricIndex(proj).reindex(w, metricEntry(&before), metricEntry(&after)); err != nil {
			return err
		}
		return s.record(w, change{kind: "metric", verb: "updated", name: after.Name, resource: metricRes(proj, key),
			accesses: accessesOf(metricRes(proj, key), actions...), before: &before, after: &after})
	})
	if err != nil {
		return Metric{}, err
	}
	return after, nil
}

// PatchMetric updates a metric with JSON Patch; a test on "/_version"
// guards against concurrent changes.
func (s *Store) PatchMetric(ctx context.Context, proj, key string, p Patch) (Metric, error) {
	if err := checkPatch(&p); err != nil {
		return Metric{}, err
	}
	if p.Kind != JSONPatch {
		return Metric{}, invalidf("", "a metric is updated with JSON Patch, not %s", p.Kind)
	}
	return s.UpdateMetric(withPatch(ctx, &p), proj, key, func(m *Metric) error {
		return patchRepresentation(m, &p, false, nil)
	})
}

// DeleteMetric deletes a metric.
func (s *Store) DeleteMetric(ctx context.Context, proj, key string) error {
	return s.update(ctx, func(w *wtx) error {
		var m Metric
		if _, err := getMetric(&w.rtx, proj, key, &m); err != nil {
			return err
		}
		if err := w.del(metricKey(proj, key)); err != nil {
			return err
		}
		if err := metricIndex(proj).reindex(w, metricEntry(&m), nil); err != nil {
			return err
		}
		return s.record(w, change{kind: "metric", verb: "deleted", name: m.Name, resource: metricRes(proj, key),
			accesses: accessesOf(metricRes(proj, key), "deleteMetric"), before: &m,
			self: &resource.Part{Type: resource.TypeMetric, Name: key, Tags: m.Tags}})
	})
}
