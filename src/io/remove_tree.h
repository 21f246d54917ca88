// remove_tree.h: deleting a folder of partial output (a temporary folder that never got its
// final name, or the earlier output a complete new one replaced).
#ifndef BR_REMOVE_TREE_H
#define BR_REMOVE_TREE_H

// Removes path and everything under it, not following links; a missing path is no error.
void br_remove_tree(const char *path);

#endif
