package flagstore

import (
	"cmp"
	"context"
	"slices"
	"strings"

	"github.com/flagstore/flagstore/store"
)

// FlagFilter narrows and shapes ListFlagsFiltered beyond ListOptions: the
// filters of LaunchDarkly's flag list that the store can answer. The zero
// value keeps every flag ListOptions keeps.
type FlagFilter struct {
	// Tags keeps flags that carry every one of these tags (ListOptions.Tag,
	// when set, is one more).
	Tags []string
	// State keeps flags in one lifecycle state: "live" (neither archived
	// nor deprecated), "deprecated" (deprecated, not archived) or
	// "archived". Empty keeps the view ListOptions.Archived selects, whose
	// default holds live and deprecated flags.
	State string
	// Type keeps "temporary" or "permanent" flags.
	Type string
	// MaintainerID keeps flags maintained by this member.
	MaintainerID string
	// MaintainerTeamKey keeps flags maintained by this team.
	MaintainerTeamKey string
	// SDKAvailability keeps flags by client-side availability: "client"
	// (client-side ID), "mobile" (mobile key), "anyClient" (either) or
	// "server" (neither).
	SDKAvailability string
	// CreatedBefore keeps flags created strictly before this time (Unix
	// ms); 0 sets no bound.
	CreatedBefore int64
	// Environments, when set, keeps only these environments' configurations
	// in the returned flags; each must be an environment of the project
	// (else ErrNotFound).
	// The first is the one the targetingModifiedDate sort reads.
	Environments []string
}

// Flag sort fields beyond the indexed key, name and creationDate.
const (
	flagSortMaintainer = "maintainerId"
	flagSortTags       = "tags"
	flagSortType       = "type"
	flagSortTargeting  = "targetingModifiedDate"
)

// flagSortFields are the sort fields ListFlagsFiltered accepts, as an
// error message lists them.
const flagSortFields = "key, name, creationDate, maintainerId, tags, type, targetingModifiedDate"

// flagSortBy is one field of a flag list's order.
type flagSortBy struct {
	field string // sortKey, sortName, sortCreated or a flagSort* name
	desc  bool
}

// parseFlagSort reads a comma-separated sort list; "" is the default,
// newest first.
func parseFlagSort(raw string, envs []string) ([]flagSortBy, error) {
	if raw == "" {
		raw = "-creationDate"
	}
	var out []flagSortBy
	seen := map[string]bool{}
	for _, part := range strings.Split(raw, ",") {
		part = strings.TrimSpace(part)
		by := flagSortBy{desc: strings.HasPrefix(part, "-")}
		name := strings.TrimPrefix(part, "-")
		switch name {
		case "key":
			by.field = sortKey
		case "name":
			by.field = sortName
		case "creationDate", "createdOn":
			by.field = sortCreated
		case flagSortMaintainer, flagSortTags, flagSortType, flagSortTargeting:
			by.field = name
		default:
			return nil, invalidf("sort", "unsupported sort field %q: use %s", name, flagSortFields)
		}
		if seen[by.field] {
			return nil, invalidf("sort", "sort field %q is listed twice", name)
		}
		seen[by.field] = true
		out = append(out, by)
	}
	if seen[flagSortTargeting] {
		if len(out) > 1 {
			return nil, invalidf("sort", "targetingModifiedDate cannot be combined with other sort fields")
		}
		if len(envs) == 0 {
			return nil, invalidf("sort", "targetingModifiedDate needs an environment to sort by")
		}
	}
	return out, nil
}

// indexedSort reports whether the index alone gives this order.
func indexedSort(by []flagSortBy) bool {
	return len(by) == 1 && (by[0].field == sortKey || by[0].field == sortName || by[0].field == sortCreated)
}

// indexSortName is the ListOptions.Sort spelling of an indexed order.
func indexSortName(by flagSortBy) string {
	name := map[string]string{sortKey: "key", sortName: "name", sortCreated: "creationDate"}[by.field]
	if by.desc {
		return "-" + name
	}
	return name
}

// check refuses values outside the documented sets.
func (f *FlagFilter) check() error {
	switch f.State {
	case "", "live", "deprecated", "archived":
	default:
		return invalidf("state", "state must be live, deprecated or archived, not %q", f.State)
	}
	switch f.Type {
	case "", "temporary", "permanent":
	default:
		return invalidf("type", "type must be temporary or permanent, not %q", f.Type)
	}
	switch f.SDKAvailability {
	case "", "client", "mobile", "anyClient", "server":
	default:
		return invalidf("sdkAvailability", "sdkAvailability must be client, mobile, anyClient or server, not %q", f.SDKAvailability)
	}
	if f.CreatedBefore < 0 {
		return invalidf("creationDate", "creationDate.before must not be negative")
	}
	for _, t := range f.Tags {
		if err := validTags("tags", []string{t}); err != nil {
			return err
		}
	}
	return nil
}

// narrows reports whether the filter keeps fewer flags than the index view.
func (f *FlagFilter) narrows() bool {
	return f.State == "live" || f.State == "deprecated" || f.Type != "" || f.MaintainerID != "" ||
		f.MaintainerTeamKey != "" || f.SDKAvailability != "" || f.CreatedBefore != 0
}

// keeps reports whether a flag passes the filter (tags beyond the scanned
// one included).
func (f *FlagFilter) keeps(fl *Flag, tags []string) bool {
	switch f.State {
	case "live":
		if fl.Archived || fl.Deprecated {
			return false
		}
	case "deprecated":
		if fl.Archived || !fl.Deprecated {
			return false
		}
	case "archived":
		if !fl.Archived {
			return false
		}
	}
	switch f.Type {
	case "temporary":
		if !fl.Temporary {
			return false
		}
	case "permanent":
		if fl.Temporary {
			return false
		}
	}
	if f.MaintainerID != "" && fl.MaintainerID != f.MaintainerID {
		return false
	}
	if f.MaintainerTeamKey != "" && fl.MaintainerTeamKey != f.MaintainerTeamKey {
		return false
	}
	csa := fl.ClientSideAvailability
	switch f.SDKAvailability {
	case "client":
		if !csa.UsingEnvironmentID {
			return false
		}
	case "mobile":
		if !csa.UsingMobileKey {
			return false
		}
	case "anyClient":
		if !csa.UsingEnvironmentID && !csa.UsingMobileKey {
			return false
		}
	case "server":
		if csa.UsingEnvironmentID || csa.UsingMobileKey {
			return false
		}
	}
	if f.CreatedBefore != 0 && fl.CreationDate >= f.CreatedBefore {
		return false
	}
	for _, t := range tags {
		if !slices.Contains(fl.Tags, t) {
			return false
		}
	}
	return true
}

// ListFlagsFiltered lists a project's flags like ListFlags, with the
// filters of f and a richer order: ListOptions.Sort is a comma-separated
// list of key, name, creationDate, maintainerId, tags, type and
// targetingModifiedDate (the last alone, and reading f.Environments[0]),
// each descending with a leading "-"; ties go by key. A single key, name or
// creationDate order with no filter beyond one tag and the text query is
// read from the index; anything else scans the project's flags.
//
// Orders where LaunchDarkly is silent: maintainerId and type compare their
// strings ("permanent" before "temporary"), a flag without a maintainer
// first; tags compares the sorted tag lists element by element, a prefix
// first; targetingModifiedDate is the environment configuration's
// lastModified.
func (s *Store) ListFlagsFiltered(ctx context.Context, proj string, o ListOptions, f FlagFilter) (List[Flag], error) {
	if err := f.check(); err != nil {
		return List[Flag]{}, err
	}
	if o.Tag != "" {
		if err := validTags("tag", []string{o.Tag}); err != nil {
			return List[Flag]{}, err
		}
	}
	if o.Limit < 0 || o.Offset < 0 {
		return List[Flag]{}, invalidf("limit", "limit and offset must not be negative")
	}
	sortBy, err := parseFlagSort(o.Sort, f.Environments)
	if err != nil {
		return List[Flag]{}, err
	}
	var tags []string
	for _, t := range append([]string{o.Tag}, f.Tags...) {
		if t != "" && !slices.Contains(tags, t) {
			tags = append(tags, t)
		}
	}
	// Live or deprecated flags among archived ones: nothing to find.
	none := o.Archived && (f.State == "live" || f.State == "deprecated")
	if f.State == "archived" {
		o.Archived = true
	}
	var out List[Flag]
	err = s.view(ctx, func(r *rtx) error {
		if _, err := getProject(r, proj, &Project{}); err != nil {
			return err
		}
		if err := s.authorizeView(ctx, r, proj); err != nil {
			return err
		}
		names, err := envNames(r, proj)
		if err != nil {
			return err
		}
		for _, e := range f.Environments {
			if _, ok := names[e]; !ok {
				return notFoundf("Unknown environment %q in project %q", e, proj)
			}
		}
		var keys []string
		switch {
		case none:
		case !f.narrows() && len(tags) <= 1 && indexedSort(sortBy):
			po := o
			po.Tag = ""
			if len(tags) == 1 {
				po.Tag = tags[0]
			}
			po.Sort = indexSortName(sortBy[0])
			keys, out.TotalCount, err = flagIndex(proj).page(r, po, "-creationDate")
		default:
			keys, out.TotalCount, err = scanFlags(r, proj, o, &f, tags, sortBy)
		}
		if err != nil {
			return err
		}
		out.Items = make([]Flag, len(keys))
		for i, k := range keys {
			if _, err := getFlag(r, proj, k, &out.Items[i]); err != nil {
				return err
			}
			fillEnvNames(&out.Items[i], names)
			if len(f.Environments) > 0 {
				keepEnvironments(&out.Items[i], f.Environments)
			}
		}
		return nil
	})
	return out, err
}

// keepEnvironments drops the configurations of environments not in envs.
func keepEnvironments(fl *Flag, envs []string) {
	for k := range fl.Environments {
		if !slices.Contains(envs, k) {
			delete(fl.Environments, k)
		}
	}
}

// flagSortRow is what an in-memory sort compares of one flag.
type flagSortRow struct {
	key        string
	name       string
	created    int64
	maintainer string
	temporary  bool
	tags       []string
	targeting  int64
}

// scanFlags walks a project's flag index in the first sort field's order
// (key order when the index cannot give it), loads each flag the text
// query lets through and applies the filter. With an index order the page
// is cut during the walk; otherwise every match is sorted in memory. It
// returns the page's keys and the total.
func scanFlags(r *rtx, proj string, o ListOptions, f *FlagFilter, tags []string, sortBy []flagSortBy) ([]string, int, error) {
	limit := o.Limit
	if limit == 0 {
		limit = DefaultLimit
	}
	view, filter := "l", "all"
	if o.Archived {
		view = "a"
	}
	rest := tags
	if len(tags) > 0 {
		filter, rest = "t."+tags[0], tags[1:]
	}
	field, desc := sortKey, false
	streamed := indexedSort(sortBy)
	if streamed {
		field, desc = sortBy[0].field, sortBy[0].desc
	}
	prefix := flagIndex(proj).base() + view + sep + filter + sep + field + sep
	var candidates []string
	query := strings.ToLower(o.Query)
	visit := func(it store.Item) bool {
		k := it.Key[strings.LastIndexByte(it.Key, 0)+1:]
		if query == "" || strings.Contains(strings.ToLower(string(it.Value)), query) || strings.Contains(strings.ToLower(k), query) {
			candidates = append(candidates, k)
		}
		return true
	}
	if err := scanOrdered(r, prefix, desc, visit); err != nil {
		return nil, 0, err
	}
	var keys []string
	var rows []flagSortRow
	matched := 0
	for _, k := range candidates {
		fl, _, err := peekFlagItem(r, proj, k) // read only: saves a deep copy of each
		if err != nil {
			return nil, 0, err
		}
		if !f.keeps(fl, rest) {
			continue
		}
		matched++
		if streamed {
			if matched > o.Offset && len(keys) < limit {
				keys = append(keys, k)
			}
			continue
		}
		row := flagSortRow{key: fl.Key, name: strings.ToLower(fl.Name), created: fl.CreationDate,
			maintainer: fl.MaintainerID, temporary: fl.Temporary, tags: slices.Sorted(slices.Values(fl.Tags))}
		if len(f.Environments) > 0 {
			if c := fl.Environments[f.Environments[0]]; c != nil {
				row.targeting = c.LastModified
			}
		}
		rows = append(rows, row)
	}
	if streamed {
		return keys, matched, nil
	}
	slices.SortFunc(rows, func(a, b flagSortRow) int {
		for _, by := range sortBy {
			c := compareFlagRows(by.field, &a, &b)
			if by.desc {
				c = -c
			}
			if c != 0 {
				return c
			}
		}
		return cmp.Compare(a.key, b.key)
	})
	for i := o.Offset; i < len(rows) && len(keys) < limit; i++ {
		keys = append(keys, rows[i].key)
	}
	return keys, matched, nil
}

// compareFlagRows compares two flags on one sort field.
func compareFlagRows(field string, a, b *flagSortRow) int {
	switch field {
	case sortKey:
		return cmp.Compare(a.key, b.key)
	case sortName:
		return cmp.Compare(a.name, b.name)
	case sortCreated:
		return cmp.Compare(a.created, b.created)
	case flagSortMaintainer:
		return cmp.Compare(a.maintainer, b.maintainer)
	case flagSortType:
		// "permanent" < "temporary"
		return cmp.Compare(typeRank(a.temporary), typeRank(b.temporary))
	case flagSortTags:
		return slices.Compare(a.tags, b.tags)
	case flagSortTargeting:
		return cmp.Compare(a.targeting, b.targeting)
	}
	return 0
}

func typeRank(temporary bool) int {
	if temporary {
		return 1
	}
	return 0
}
