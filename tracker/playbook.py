"""The playbook: for a case's kind and context, what to do next and what to tell the customer.

    kind, evidence (force majeure? which carrier? SF asked for?), the buyer's contact history
        ─► PLAYS[kind]: ordered steps (code, reason), each with reply variants (话术)
        ─► steps whose condition holds ─► per step the first variant never sent to this buyer
           and free of every forbidden phrase of the policy
        ─► after max_refused refused plans or max_contacts contacts, or when every variant
           has been used: hand over to a lead and call first

Pure: no I/O.  Replies follow the problem-solving style: one brief apology first, then two
or three concrete options with times.  Times are relative ("今天 18:00 前", "24 小时内"),
so a reply stays true whenever it is sent.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from couriers import carriers
from tracker.policy import Policy


@dataclass(frozen=True, slots=True)
class Reply:
    code: str  # stable: "<step>.<variant>", stored with each contact to avoid repeats
    text: str


@dataclass(frozen=True, slots=True)
class Suggestion:
    code: str
    reason: str
    reply: Reply | None


@dataclass(frozen=True, slots=True)
class Contact:
    """One earlier contact with the buyer: the reply sent and how the buyer took the plan."""

    reply_code: str | None
    outcome: str | None = None  # accepted | refused | pending


@dataclass(frozen=True, slots=True)
class Step:
    code: str
    reason: str
    replies: tuple[str, ...] = ()
    when: str | None = None  # a context flag that must hold (see _context)


HANDOVER = Step(
    "handover_lead", "已多次沟通或方案被拒：转客服主管，电话联系买家一次说清",
    ("亲，非常抱歉这件事一直没让您满意。我们主管会亲自跟进：①今天 {call_by} 前主管给您打电话，当面商量最合适的方案；"
     "②如果您方便，也可以现在留一个方便接听的时间段，我们按您的时间来电。",
     "亲，真的很抱歉给您添了这么多麻烦。为了尽快解决，我们安排了专人负责：①2 小时内专人电话联系您；"
     "②您也可以直接回复想要的处理方式（补发或退款），专人 24 小时内办结并回复您。"),
)

PLAYS: Mapping[str, tuple[Step, ...]] = {
    "not_shipped": (
        Step("find_cause", "超过发货时限未发货：查是系统未推单、拣货单丢失、货物错放还是漏发"),
        Step("ship_today", "今天发出或补发，并给买家一个确定的时间",
             ("亲，非常抱歉让您久等了！您的订单已加急处理，给您两个方案：①今天 18:00 前为您发出，发出后马上把运单号发给您；"
              "②如果您不想再等，现在就可以为您退款，1 小时内处理完成。您看哪种更方便？",
              "亲，实在抱歉耽误您收货了。仓库正在优先打包您的订单：①今天 20:00 前发出并同步运单号；"
              "②改发顺丰，差价由我们承担，多数城市 1–2 天送达；③不想等也可以马上为您退款。您选一个，我立刻安排。")),
    ),
    "no_tracking": (
        Step("verify_waybill", "把运单号发给快递客服核实是否已揽收；有虚假发货风险，先于平台处罚处理",
             ("亲，非常抱歉物流一直没有更新。我们已把运单号 {waybill} 提交{carrier_name}核实：①2 小时内给您回复核实结果；"
              "②您也可以在{carrier_name}官网 {site} 或拨打 {hotline} 查询；③如果今天 18:00 前仍无揽收记录，我们当天为您重新发出。",
              "亲，很抱歉让您担心了。运单 {waybill} 暂时没有揽收记录，我们正在和{carrier_name}网点确认：①今天之内给您明确答复；"
              "②确认未揽收的话立即为您补发，24 小时内给您新单号；③您也可以选择直接退款，1 小时内处理。")),
        Step("point_to_site", "给买家快递官网和客服电话，方便自查", when="carrier_known"),
        Step("flag_false_shipment", "记录虚假发货风险：揽收超时会被平台判罚"),
    ),
    "stalled": (
        Step("book_loss", "天气或灾害导致停滞：与快递网点约定记账，先行赔付买家，月底对账追回", when="force_majeure"),
        Step("urge_courier", "按线路和轨迹估算到达时间，向快递催派（催件）",
             ("亲，非常抱歉您的包裹在路上耽搁了。我们已经向{carrier_name}催件：①24 小时内给您反馈最新位置；"
              "②如果 48 小时内仍没有新进展，我们为您补发一件；③您也可以选择退款，我们先退款再追回包裹。",
              "亲，很抱歉让您等这么久。包裹 {waybill} 最近一段时间没有更新，我们已加急联系网点：①今天 18:00 前告诉您处理进度；"
              "②如果明天还没有动静，直接为您重新发货；③不想再等的话，也可以马上为您退款。")),
        Step("explain_force_majeure", "向买家说明天气/灾害原因和预计时间", when="force_majeure",
             replies=("亲，非常抱歉，受{disruption}影响，当地快递暂时停运，您的包裹在安全存放中：①恢复运输后 48 小时内优先派送，"
                      "我们每天跟进一次位置；②如果您等不及，可以先为您退款，包裹到了再决定是否需要。",
                      "亲，很抱歉受{disruption}影响包裹延误了。给您两个选择：①继续等待，天气好转后我们第一时间催派，并赠送一张无门槛优惠券；"
                      "②现在就为您办理退款，1 小时内到账。")),
    ),
    "auto_confirmed_undelivered": (
        Step("reassure", "买家担心钱货两空：先说明货款和售后都有保障，再催派",
             ("亲，非常抱歉系统已自动确认收货，但请您放心，没收到货我们一定负责：①我们今天就向快递催派，24 小时内告诉您进展；"
              "②如果您不想再等，现在就为您退款，包裹我们让快递退回。",
              "亲，很抱歉让您担心了。订单显示交易成功只是系统到期自动确认，您的权益不受影响：①我们 2 小时内联系快递加急派送；"
              "②如果 48 小时内还没送到，直接为您补发或退款，您选哪种都可以。")),
        Step("refund_and_return", "买家不愿等：退款，让快递退回包裹，并跟踪退件"),
    ),
    "damaged": (
        Step("ask_photos", "请买家拍外箱和商品照片，作为向快递理赔的凭证",
             ("亲，非常抱歉商品到您手上出了问题！麻烦您拍一下外箱和商品的照片发给我们：①确认后今天 18:00 前为您补发新的；"
              "②如果商品还能用，给您部分补偿或一张优惠券，您看哪种更合适？",
              "亲，真的很抱歉让您收到有问题的商品。请您把包装和商品拍照发我们一下：①收到照片后 1 小时内为您安排补发；"
              "②不想补发的话，也可以直接为您退款；③商品不影响使用的，我们给您补偿一部分货款。")),
        Step("reship", "补发一件"),
        Step("file_claim", "凭照片和签收记录向快递登记理赔"),
        Step("offer_compensation", "商品可用时：优惠券、赠品或部分补偿"),
    ),
    "wrong_carrier": (
        Step("check_outlet", "查所用快递在买家当地有没有网点、能否派送",
             ("亲，非常抱歉没有按您的要求发{requested_name}。包裹已经由{carrier_name}发出（{waybill}），给您几个方案：①我们已确认当地可以派送，"
              "预计 2–3 天送到，并送您一张优惠券；②如果不方便，我们用您要求的快递为您转寄，费用我们承担，今天安排；"
              "③也可以直接为您退款。",
              "亲，很抱歉快递没有按您的备注安排。我们马上处理：①今天 18:00 前帮您确认{carrier_name}当地网点能否送货上门；"
              "②送不到的话由我们出运费改发{requested_name}转寄给您；③您不想要了也可以退款，我们负责退回运费。")),
        Step("suggest_pickup", "网点离买家近：建议自提，送优惠券"),
        Step("forward_other_carrier", "送不到：由店铺出运费改用其他快递转寄"),
        Step("refund_difference", "买家为顺丰付了钱：退还差价", when="sf_requested"),
    ),
    "lost": (
        Step("book_loss", "已超过国家标准彻底延误时限：与网点记账，先行赔付买家，月底对账追回",
             ("亲，非常抱歉您的包裹长时间没有动静，我们按丢件处理，不让您再等：①今天 18:00 前为您重新发货；"
              "②或者现在就为您全额退款，1 小时内到账。您选一个，我马上办。",
              "亲，真的很抱歉，包裹 {waybill} 已经超过快递的最长时限还没到，我们先负责到底：①24 小时内为您补发并同步新单号；"
              "②您也可以选择退款，今天之内处理完成。")),
        Step("file_claim", "向快递登记丢失理赔"),
    ),
    "pickup_uncollected": (
        Step("remind_pickup", "提醒买家到驿站/快递柜取件",
             ("亲，打扰了，很抱歉包裹一直放在驿站/快递柜让您跑一趟。给您两个方式：①凭取件码今天就可以去取，"
              "驿站一般晚上 8 点前营业；②如果不方便，我们联系快递 24 小时内送货上门。",
              "亲，不好意思提醒一下，您的包裹 {waybill} 已到驿站/快递柜好几天了：①方便的话今天去取，超时可能被退回；"
              "②需要送货上门的话回复我们，我们明天为您安排。")),
        Step("ask_redelivery", "买家不便自取：请快递送货上门"),
    ),
    "reship_not_moving": (
        Step("verify_reship", "补发件也没有动静：今天联系发货仓和快递核实，必要时换快递重发",
             ("亲，非常抱歉补发的包裹 {waybill} 还没有动起来。我们已经在加急核实：①今天 18:00 前给您答复；"
              "②确认有问题就改用其他快递今天重新发出；③您也可以选择直接退款，1 小时内处理。",
              "亲，很抱歉又让您久等了。补发件暂时没有物流更新，我们正在和仓库确认：①2 小时内给您回复；"
              "②今天之内一定换快递重新发出，并把新单号发给您。")),
    ),
    "failed_delivery": (
        Step("confirm_address", "派送失败：联系买家确认地址、电话和方便收货的时间，再约快递二次派送",
             ("亲，很抱歉，快递今天没能把包裹送到您手上：①麻烦您确认一下收货地址和电话，我们约快递明天再送；"
              "②也可以改放驿站或快递柜，您方便时去取。",
              "亲，很抱歉包裹这次没送成功。给您两个方案：①回复一个方便收货的时间段，我们让快递按时上门；"
              "②或者告诉我们新的地址，24 小时内帮您改派。")),
        Step("urge_courier", "约快递二次派送"),
    ),
    "refused": (
        Step("ask_reason", "问清拒收原因（破损、不想要、未约好时间）",
             ("亲，很抱歉打扰您，看到包裹被拒收了，想了解一下原因：①如果是商品或包装有问题，我们今天就为您补发；"
              "②如果不需要了，等包裹退回后 24 小时内为您退款。",
              "亲，不好意思，包裹 {waybill} 显示拒收，是不是收货时遇到了问题？①需要的话我们可以重新派送一次；"
              "②不需要也没关系，退件回到仓库后我们当天为您退款。")),
        Step("track_return", "跟踪退件，入库后退款"),
    ),
    "returned": (
        Step("track_return", "包裹在退回途中：跟踪退件，和买家商定补发或退款",
             ("亲，非常抱歉，您的包裹 {waybill} 被快递退回了。给您两个方案：①今天为您重新发出，发出后同步运单号；"
              "②不需要了的话，退件回到仓库后 24 小时内为您退款。",
              "亲，很抱歉让您没有收到包裹。快递把包裹退回了，我们这样处理：①马上为您补发一件，明天之前给您单号；"
              "②或者现在就为您退款，不用等退件回来。")),
    ),
    "auto_confirm_soon": (
        Step("extend_receipt", "平台将在包裹送到前自动确认收货：在截止前为买家延长收货",
             ("亲，很抱歉，您的包裹比预期慢了，还在路上。为了保障您的权益：①我们已为订单延长收货时间，"
              "您收到货再确认就好；②如果您不想再等，也可以现在为您退款。",
              "亲，很抱歉包裹还没送到。订单快到自动确认的时间了，我们今天就帮您延长收货：①您收到货检查没问题再确认；"
              "②这几天包裹如果还没动静，我们直接为您补发。")),
    ),
}


class _Blank(dict):
    def __missing__(self, key: str) -> str:
        return ""


def _carrier(code: object) -> carriers.Carrier | None:
    try:
        return carriers.get(code) if isinstance(code, str) else None
    except carriers.UnknownCarrier:
        return None


def _context(evidence: Mapping) -> dict[str, object]:
    carrier = _carrier(evidence.get("carrier"))
    requested = list(evidence.get("requested") or ())
    wished = _carrier(requested[0]) if requested else None
    asked = wished.name if wished else "指定快递"
    return {
        "flags": {"force_majeure": bool(evidence.get("force_majeure")), "carrier_known": carrier is not None,
                  "sf_requested": "sf" in requested},
        "fill": _Blank(waybill=evidence.get("waybill") or "", carrier_name=carrier.name if carrier else "快递公司",
                       site=carrier.site if carrier else "快递公司官网", hotline=carrier.hotline if carrier else "客服电话",
                       requested_name=asked, disruption=evidence.get("disruption_reason") or "天气",
                       call_by="18:00"),
    }


def forbidden_in(text: str, policy: Policy) -> list[str]:
    return [p for p in policy.forbidden_phrases if p in text]


def suggest(kind: str, evidence: Mapping, contacts: Sequence[Contact], policy: Policy) -> list[Suggestion]:
    """Ordered suggestions for a case of ``kind``; ``contacts``: this buyer's earlier contacts."""
    if kind not in PLAYS:
        raise KeyError(f"no playbook for kind {kind!r}; known: {', '.join(PLAYS)}")
    ctx = _context(evidence)
    used = {c.reply_code for c in contacts if c.reply_code}
    refused = sum(c.outcome == "refused" for c in contacts)
    escalate = refused >= policy.max_refused or len(contacts) >= policy.max_contacts
    steps = [s for s in PLAYS[kind] if s.when is None or ctx["flags"][s.when]]
    out = []
    for step in steps:
        reply = None if escalate else _fresh_reply(step, ctx["fill"], used, policy)
        escalate = escalate or bool(step.replies) and reply is None
        out.append(Suggestion(step.code, step.reason, reply))
    if escalate:
        out.insert(0, Suggestion(HANDOVER.code, HANDOVER.reason, _fresh_reply(HANDOVER, ctx["fill"], used, policy)))
    return out


def _fresh_reply(step: Step, fill: Mapping, used: set[str], policy: Policy) -> Reply | None:
    """The first variant of the step this buyer has not had, free of forbidden phrases."""
    for i, template in enumerate(step.replies, 1):
        code = f"{step.code}.{i}"
        text = template.format_map(fill)
        if code not in used and not forbidden_in(text, policy):
            return Reply(code, text)
    return None


def action_codes(kind: str, evidence: Mapping, contacts: Sequence[Contact], policy: Policy) -> list[str]:
    return [s.code for s in suggest(kind, evidence, contacts, policy)]
