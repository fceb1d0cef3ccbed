package resource_test

import (
	"fmt"

	"github.com/flagstore/flagstore/internal/resource"
)

// A role that lets developers change flags everywhere except production
// targeting, for the projects named in their roleAttributes.
func ExampleEvaluate() {
	policy := []resource.Statement{
		{Effect: "allow", Resources: []string{"proj/${roleAttribute/projects}:env/*:flag/*"}, Actions: []string{"*"}},
		{Effect: "deny", Resources: []string{"proj/*:env/*;{critical:true}:flag/*"}, Actions: []string{"updateOn", "updateRules"}},
	}
	attrs := map[string][]string{"projects": {"shop"}}
	shop := resource.Project("shop")
	for _, r := range []resource.Resource{
		shop.Environment("test", false).Flag("new-checkout"),
		shop.Environment("production", true).Flag("new-checkout"),
		resource.Project("billing").Environment("test", false).Flag("invoice-v2"),
	} {
		d := resource.Evaluate(policy, "updateOn", r, attrs)
		fmt.Println(r, d.Allowed, d.Index)
	}
	// Output:
	// proj/shop:env/test:flag/new-checkout true 0
	// proj/shop:env/production:flag/new-checkout false 1
	// proj/billing:env/test:flag/invoice-v2 false -1
}

func ExampleExpand() {
	specs, _ := resource.Expand("proj/${roleAttribute/projects}:env/*:flag/*",
		map[string][]string{"projects": {"shop", "billing"}})
	fmt.Println(specs)
	// Output: [proj/shop:env/*:flag/* proj/billing:env/*:flag/*]
}
