# seam.sh: the pipeline knows no model family. src/stage, src/sched and src/comm reach a model
# only through model/family.h and model/recipe.h; a name of a family (or of its files) there
# means a family leaked through the seam (docs/architecture.md, "Adding a family").
. "$(dirname "$0")/lib.sh"
SRC=$(dirname "$0")/../src
names='ltx|qwen|gemma|flux|wan[0-9]|hunyuan|cogvideo'
if hits=$(grep -rniE "$names" "$SRC/stage" "$SRC/sched" "$SRC/comm"); then
    fail "src/stage, src/sched, src/comm name a family:"; echo "$hits" | sed 's/^/    | /'
else
    pass "src/stage, src/sched, src/comm name no family ($names)"
fi
# And the grep finds what it looks for: the model folder names both families.
if grep -rqiE "$names" "$SRC/model"; then pass "the grep sees the families in src/model"
else fail "the grep sees no family even in src/model"; fi
finish
