//! Pipelines, stages and ticket property definitions, kept in memory per node. Every write
//! transaction that needs them reads `config_version` (one cheap query) and reloads only when
//! an admin change — on this node or another — bumped it.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use fd_domain::property::PropertyDefinition;
use fd_domain::{PipelineId, StageId};
use fd_store::{Pipeline, Stage, Tx};

use crate::{App, AppError};

#[derive(Debug)]
pub(crate) struct TicketConfig {
    pub version: i64,
    /// All ticket pipelines, archived ones included (so errors can say "archived").
    pub pipelines: Vec<Pipeline>,
    /// Live ticket property definitions by name.
    pub properties: BTreeMap<String, PropertyDefinition>,
}

impl TicketConfig {
    pub fn pipeline(&self, id: PipelineId) -> Option<&Pipeline> {
        self.pipelines.iter().find(|p| p.id == id)
    }

    pub fn stage(&self, id: StageId) -> Option<&Stage> {
        self.pipelines
            .iter()
            .flat_map(|p| p.stages.iter())
            .find(|s| s.id == id)
    }
}

pub(crate) type ConfigSlot = Arc<RwLock<Option<Arc<TicketConfig>>>>;

impl App {
    pub(crate) async fn ticket_config(&self, tx: &mut Tx) -> Result<Arc<TicketConfig>, AppError> {
        let version = tx.config_version().await?;
        if let Ok(slot) = self.config.read()
            && let Some(cfg) = slot.as_ref()
            && cfg.version == version
        {
            return Ok(cfg.clone());
        }
        let pipelines = tx.all_pipelines().await?;
        let properties = tx
            .properties("tickets", false)
            .await?
            .into_iter()
            .map(|d| (d.name.clone(), d))
            .collect();
        let cfg = Arc::new(TicketConfig {
            version,
            pipelines,
            properties,
        });
        if let Ok(mut slot) = self.config.write() {
            *slot = Some(cfg.clone());
        }
        Ok(cfg)
    }
}
