/** @odoo-module **/

import { Component, onWillStart, onWillUpdateProps, useState } from "@odoo/owl";
import { registry } from "@web/core/registry";
import { useService } from "@web/core/utils/hooks";
import { standardWidgetProps } from "@web/views/widgets/standard_widget_props";

/**
 * The journey as a flow: one card per step, a branch step's yes and no paths side by
 * side, live figures on each card (sms.journey.get_flow). A click on a card opens the
 * step; the buttons at the end of each path open a new SMS step or branch for that
 * place in a dialog (sms.journey.action_flow_add_step), saving a new journey first.
 */
export class JourneyFlow extends Component {
    static template = "sms_journey.JourneyFlow";
    static props = { ...standardWidgetProps };

    setup() {
        this.orm = useService("orm");
        this.action = useService("action");
        this.state = useState({ steps: [] });
        onWillStart(() => this.load(this.props.record.resId));
        onWillUpdateProps((next) => {
            if (next.record.resId !== this.props.record.resId) {
                return this.load(next.record.resId);
            }
        });
    }

    async load(resId) {
        this.state.steps = resId
            ? await this.orm.call("sms.journey", "get_flow", [[resId]])
            : [];
    }

    async refresh() {
        await this.props.record.load();
        await this.load(this.props.record.resId);
    }

    async openStep(stepId) {
        await this.props.record.save();
        const action = await this.orm.call("sms.journey.step", "action_open_step", [[stepId]]);
        await this.action.doAction(action, { onClose: () => this.refresh() });
    }

    async addStep(parentId, side, kind) {
        const saved = await this.props.record.save();
        if (saved === false || !this.props.record.resId) {
            return;
        }
        // the new step's form in a dialog: saved, it joins the flow; discarded, nothing
        const action = await this.orm.call("sms.journey", "action_flow_add_step", [[this.props.record.resId]], {
            parent_id: parentId || false,
            side: side || false,
            kind,
        });
        await this.action.doAction(action, { onClose: () => this.refresh() });
    }
}

registry.category("view_widgets").add("sms_journey_flow", { component: JourneyFlow });
