//! The dev shop's inventory transfers and their shipments (Admin API 2026-10), with Shopify's
//! accounting: a transfer marked ready to ship makes its units `incoming` at the destination;
//! a shipment carries some of them with an optional tracked arrival; receiving a shipment moves
//! the accepted units from `incoming` to `available`; a transfer whose units are all received
//! is `TRANSFERRED`. A purchase order has no stable API: [`World::order_from_supplier`] only
//! raises `incoming`, as Shopify's own purchase orders do.
//!
//! The webhooks carry what Shopify's do: the transfer's or shipment's ids and their own line
//! items, never the inventory items, so the service must read the records again.

use serde_json::{Value, json};

use super::graphql::{gid, page, parse_gid};
use super::world::{Level, MAIN_LOCATION, World, WorldError};
use crate::platform::cost::Document;

#[derive(Debug, Clone)]
pub struct Transfer {
    pub id: u64,
    pub name: String,
    pub destination: u64,
    /// `READY_TO_SHIP`, `IN_PROGRESS`, `TRANSFERRED`, `CANCELED`.
    pub status: &'static str,
    /// (line id, inventory item, units).
    pub lines: Vec<(u64, u64, u64)>,
    pub shipments: Vec<u64>,
}

#[derive(Debug, Clone)]
pub struct Shipment {
    pub id: u64,
    pub transfer: u64,
    /// `IN_TRANSIT`, `PARTIALLY_RECEIVED`, `RECEIVED`.
    pub status: &'static str,
    pub arrives_at_ms: Option<i64>,
    pub lines: Vec<ShipmentLine>,
}

#[derive(Debug, Clone, Copy)]
pub struct ShipmentLine {
    pub id: u64,
    pub item: u64,
    pub quantity: u64,
    pub accepted: u64,
    pub rejected: u64,
}

impl ShipmentLine {
    fn unreceived(&self) -> u64 {
        self.quantity - self.accepted - self.rejected
    }
}

impl World {
    fn item_of(&self, variant: u64) -> Result<u64, WorldError> {
        Ok(self.variants.get(&variant).ok_or(WorldError::NoVariant(variant))?.inventory_item_id)
    }

    fn level_mut(&mut self, item: u64, location: u64) -> &mut Level {
        let at = self.tick();
        let level =
            self.levels.entry((item, location)).or_insert(Level { available: 0, incoming: 0, updated_at_ms: at });
        level.updated_at_ms = at;
        level
    }

    /// A transfer of `lines` (variant, units) into `destination`, marked ready to ship: its
    /// units are incoming there. Its id.
    pub fn add_transfer(&mut self, destination: u64, lines: &[(u64, u64)]) -> Result<u64, WorldError> {
        let id = self.next_id();
        let mut out = Vec::new();
        for (variant, units) in lines {
            let item = self.item_of(*variant)?;
            out.push((self.next_id(), item, *units));
            self.level_mut(item, destination).incoming += *units as i64;
        }
        let name = format!("#T{:04}", self.transfers.len() + 1);
        self.transfers
            .insert(id, Transfer { id, name, destination, status: "READY_TO_SHIP", lines: out, shipments: Vec::new() });
        Ok(id)
    }

    /// Ships `lines` (variant, units) of `transfer`, tracked to arrive at `arrives_at_ms` if
    /// given. The shipment's id.
    pub fn ship(&mut self, transfer: u64, lines: &[(u64, u64)], arrives_at_ms: Option<i64>) -> Result<u64, WorldError> {
        let id = self.next_id();
        let mut out = Vec::new();
        for (variant, units) in lines {
            let item = self.item_of(*variant)?;
            out.push(ShipmentLine { id: self.next_id(), item, quantity: *units, accepted: 0, rejected: 0 });
        }
        let t = self.transfers.get_mut(&transfer).ok_or(WorldError::NoTransfer(transfer))?;
        t.status = "IN_PROGRESS";
        t.shipments.push(id);
        self.shipments.insert(id, Shipment { id, transfer, status: "IN_TRANSIT", arrives_at_ms, lines: out });
        Ok(id)
    }

    /// `inventoryShipmentSetTracking`: a new estimated arrival.
    pub fn set_arrival(&mut self, shipment: u64, arrives_at_ms: Option<i64>) -> Result<(), WorldError> {
        self.shipments.get_mut(&shipment).ok_or(WorldError::NoTransfer(shipment))?.arrives_at_ms = arrives_at_ms;
        Ok(())
    }

    /// Receives `accepted` units of `variant` on `shipment` (and `rejected` ones, which never
    /// reach stock): from incoming to available at the transfer's destination. The level after.
    pub fn receive(
        &mut self,
        shipment: u64,
        variant: u64,
        accepted: u64,
        rejected: u64,
    ) -> Result<(u64, Level), WorldError> {
        let item = self.item_of(variant)?;
        let s = self.shipments.get_mut(&shipment).ok_or(WorldError::NoTransfer(shipment))?;
        let line = s.lines.iter_mut().find(|l| l.item == item).ok_or(WorldError::NoVariant(variant))?;
        let accepted = accepted.min(line.unreceived());
        let rejected = rejected.min(line.unreceived() - accepted);
        line.accepted += accepted;
        line.rejected += rejected;
        s.status = if s.lines.iter().all(|l| l.unreceived() == 0) { "RECEIVED" } else { "PARTIALLY_RECEIVED" };
        let transfer = s.transfer;
        let t = self.transfers.get(&transfer).ok_or(WorldError::NoTransfer(transfer))?;
        let destination = t.destination;
        let all_shipped = t.lines.iter().all(|(_, item, units)| {
            let shipped: u64 = t
                .shipments
                .iter()
                .filter_map(|s| self.shipments.get(s))
                .flat_map(|s| &s.lines)
                .filter(|l| l.item == *item)
                .map(|l| l.quantity)
                .sum();
            shipped >= *units
        });
        let all_received = t.shipments.iter().filter_map(|s| self.shipments.get(s)).all(|s| s.status == "RECEIVED");
        if all_shipped && all_received {
            self.transfers.get_mut(&transfer).expect("read above").status = "TRANSFERRED";
        }
        let level = self.level_mut(item, destination);
        level.available += accepted as i64;
        level.incoming -= (accepted + rejected) as i64;
        let level = *level;
        Ok((item, level))
    }

    /// A purchase order marked ordered: incoming units with no transfer the API shows.
    pub fn order_from_supplier(&mut self, variant: u64, units: u64) -> Result<(), WorldError> {
        let item = self.item_of(variant)?;
        self.level_mut(item, MAIN_LOCATION).incoming += units as i64;
        Ok(())
    }

    /// The shipment's webhook body (`inventory_shipments/*`): its own ids and line items.
    pub fn shipment_payload(&self, shipment: u64) -> Vec<u8> {
        let Some(s) = self.shipments.get(&shipment) else { return b"{}".to_vec() };
        let lines: Vec<Value> = s
            .lines
            .iter()
            .map(|l| json!({"id": l.id, "admin_graphql_api_id": gid("InventoryShipmentLineItem", l.id), "quantity": l.quantity,
                             "remaining_quantity_to_receive": l.unreceived()}))
            .collect();
        let body = json!({
            "id": s.id,
            "admin_graphql_api_id": gid("InventoryShipment", s.id),
            "inventory_transfer_id": s.transfer,
            "status": s.status.to_ascii_lowercase(),
            "tracking": {"arrives_at": s.arrives_at_ms.map(super::rfc3339)},
            "line_items": lines,
        });
        serde_json::to_vec_pretty(&body).expect("json values serialize")
    }

    /// The transfer's webhook body (`inventory_transfers/*`).
    pub fn transfer_payload(&self, transfer: u64) -> Vec<u8> {
        let Some(t) = self.transfers.get(&transfer) else { return b"{}".to_vec() };
        let lines: Vec<Value> = t
            .lines
            .iter()
            .map(|(id, _, units)| json!({"id": id, "admin_graphql_api_id": gid("InventoryTransferLineItem", *id), "quantity": units}))
            .collect();
        let body = json!({"id": t.id, "admin_graphql_api_id": gid("InventoryTransfer", t.id), "name": t.name,
                          "status": t.status.to_ascii_lowercase(), "line_items": lines});
        serde_json::to_vec_pretty(&body).expect("json values serialize")
    }
}

/// `inventoryTransfers(query:)` with the terms the service sends: `product_variant_id:V` and
/// `status:` alternatives.
pub fn incoming_transfers(world: &World, vars: &Value, doc: &Document) -> Value {
    let query = vars["query"].as_str().unwrap_or_default();
    let variant = query.split_whitespace().find_map(|t| t.strip_prefix("product_variant_id:")?.parse::<u64>().ok());
    let statuses: Vec<&str> = query
        .split(|c: char| c.is_whitespace() || c == '(' || c == ')')
        .filter_map(|t| t.strip_prefix("status:"))
        .collect();
    let item = variant.and_then(|v| world.variants.get(&v)).map(|v| v.inventory_item_id);
    let found: Vec<&Transfer> = world
        .transfers
        .values()
        .filter(|t| item.is_none_or(|item| t.lines.iter().any(|(_, i, _)| *i == item)))
        .filter(|t| statuses.is_empty() || statuses.iter().any(|s| s.eq_ignore_ascii_case(t.status)))
        .collect();
    let size = doc.page_size(&["inventoryTransfers"], vars);
    let lines = doc.page_size(&["inventoryTransfers", "nodes", "lineItems"], vars).unwrap_or(0) as usize;
    let shipments = doc.page_size(&["inventoryTransfers", "nodes", "shipments"], vars).unwrap_or(0) as usize;
    let (page, info) = page(&found, |t| t.id, size, &vars["after"]);
    let nodes: Vec<Value> = page
        .iter()
        .map(|t| {
            json!({
                "id": gid("InventoryTransfer", t.id),
                "name": t.name,
                "status": t.status,
                "destination": {"location": {"id": gid("Location", t.destination)}},
                "lineItems": {"nodes": t.lines.iter().take(lines).map(|(_, item, units)| json!({
                    "inventoryItem": {"id": gid("InventoryItem", *item)}, "totalQuantity": units})).collect::<Vec<_>>()},
                "shipments": {"nodes": t.shipments.iter().take(shipments).map(|s| json!({"id": gid("InventoryShipment", *s)})).collect::<Vec<_>>()},
            })
        })
        .collect();
    json!({"inventoryTransfers": {"pageInfo": info, "nodes": nodes}})
}

/// `inventoryShipment(id)` with its tracking and a page of its lines.
pub fn shipment_lines(world: &World, vars: &Value, doc: &Document) -> Value {
    let Some(s) = parse_gid("InventoryShipment", &vars["id"]).and_then(|id| world.shipments.get(&id)) else {
        return json!({"inventoryShipment": null});
    };
    let size = doc.page_size(&["inventoryShipment", "lineItems"], vars);
    let (page, info) = page(&s.lines, |l| l.id, size, &vars["after"]);
    let nodes: Vec<Value> = page
        .iter()
        .map(|l| {
            json!({"inventoryItem": {"id": gid("InventoryItem", l.item)}, "quantity": l.quantity,
                   "acceptedQuantity": l.accepted, "unreceivedQuantity": l.unreceived()})
        })
        .collect();
    json!({"inventoryShipment": {
        "id": gid("InventoryShipment", s.id),
        "status": s.status,
        "tracking": s.arrives_at_ms.map(|at| json!({"arrivesAt": super::rfc3339(at)})),
        "lineItems": {"pageInfo": info, "nodes": nodes},
    }})
}

/// `inventoryTransfer(id)` with a page of its lines' inventory items.
pub fn transfer_items(world: &World, vars: &Value, doc: &Document) -> Value {
    let Some(t) = parse_gid("InventoryTransfer", &vars["id"]).and_then(|id| world.transfers.get(&id)) else {
        return json!({"inventoryTransfer": null});
    };
    let size = doc.page_size(&["inventoryTransfer", "lineItems"], vars);
    let (page, info) = page(&t.lines, |(id, ..)| *id, size, &vars["after"]);
    let nodes: Vec<Value> =
        page.iter().map(|(_, item, _)| json!({"inventoryItem": {"id": gid("InventoryItem", *item)}})).collect();
    json!({"inventoryTransfer": {"id": gid("InventoryTransfer", t.id), "lineItems": {"pageInfo": info, "nodes": nodes}}})
}

/// The scope an operation's field needs beyond the required ones, as Shopify names it in
/// `ACCESS_DENIED`.
pub fn scope_needed(operation: &str) -> Option<(&'static str, &'static str)> {
    match operation {
        "IncomingTransfers" => Some(("inventoryTransfers", "read_inventory_transfers")),
        "InventoryTransferItems" => Some(("inventoryTransfer", "read_inventory_transfers")),
        "InventoryShipmentLines" => Some(("inventoryShipment", "read_inventory_shipments")),
        _ => None,
    }
}
