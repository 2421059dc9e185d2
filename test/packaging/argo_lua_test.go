package packaging

import (
	"fmt"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	lua "github.com/yuin/gopher-lua"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// argoHealth runs an Argo CD health script the way Argo CD does: gopher-lua with only the
// base, table, string and math libraries, the object as the global table obj, and the
// script's returned table read as {status, message}.
func argoHealth(script string, obj *unstructured.Unstructured) (health, message string) {
	GinkgoHelper()
	L := lua.NewState(lua.Options{SkipOpenLibs: true})
	defer L.Close()
	for _, lib := range []struct {
		name string
		open lua.LGFunction
	}{
		{lua.LoadLibName, lua.OpenPackage},
		{lua.BaseLibName, lua.OpenBase},
		{lua.TabLibName, lua.OpenTable},
		{lua.StringLibName, lua.OpenString},
		{lua.MathLibName, lua.OpenMath},
	} {
		Expect(L.CallByParam(lua.P{Fn: L.NewFunction(lib.open), NRet: 0, Protect: true}, lua.LString(lib.name))).To(Succeed())
	}
	L.SetGlobal("obj", toLua(L, obj.Object))
	Expect(L.DoString(script)).To(Succeed())

	ret, ok := L.Get(-1).(*lua.LTable)
	Expect(ok).To(BeTrue(), "the script must return a table, returned %s", L.Get(-1).Type())
	health = lua.LVAsString(ret.RawGetString("status"))
	message = lua.LVAsString(ret.RawGetString("message"))
	// The statuses Argo CD knows.
	Expect(health).To(BeElementOf("Healthy", "Progressing", "Degraded", "Suspended", "Missing", "Unknown"))
	return health, message
}

// toLua converts a decoded JSON value to Lua as Argo CD does: objects and arrays become
// tables (arrays 1-based), numbers become Lua numbers.
func toLua(L *lua.LState, v any) lua.LValue {
	switch v := v.(type) {
	case nil:
		return lua.LNil
	case bool:
		return lua.LBool(v)
	case string:
		return lua.LString(v)
	case int64:
		return lua.LNumber(v)
	case int:
		return lua.LNumber(v)
	case float64:
		return lua.LNumber(v)
	case []any:
		t := L.NewTable()
		for _, item := range v {
			t.Append(toLua(L, item))
		}
		return t
	case map[string]any:
		t := L.NewTable()
		for k, item := range v {
			t.RawSetString(k, toLua(L, item))
		}
		return t
	default:
		panic(fmt.Sprintf("no Lua value for %T", v))
	}
}
