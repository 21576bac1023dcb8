// inbox_view.h — what `sevex inbox` lists (docs/node.md §7): the notices stored since a time,
// received ones or (`own`) this node's own with their receipts, oldest first. A hub's notices
// that it only passes on (ConduitOnly) are not listed.
//
// Threading: reads the store on the calling thread (a reader, never a strand that serialises
// deliveries); thread-safe.
#ifndef SEVEX_NODE_INBOX_VIEW_H_
#define SEVEX_NODE_INBOX_VIEW_H_

#include <string>

#include "sevex/v1/node.pb.h"
#include "store/store.h"

namespace sevex::node {

v1::ApiResponse InboxResponse(store::Store& store, const std::string& node_id,
                              const v1::InboxRequest& request);

}  // namespace sevex::node

#endif  // SEVEX_NODE_INBOX_VIEW_H_
