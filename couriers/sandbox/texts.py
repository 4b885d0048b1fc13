"""Scan wording per carrier family, as the couriers write it (pure data).

Four families cover the carriers: the tongda group (中通, 圆通, 申通, 韵达, 极兔 …) with
"【城市】快件已到达…", 顺丰 with "[城市]快件到达 【…】", 邮政/EMS with "已收寄 / 已妥投",
京东 with "您的快件…".  Core journey steps are worded per family; exception steps
share one wording behind the family's prefix.  Some delivery texts carry the couriers'
"如有破损请当场拒收" boilerplate: it mentions damage without being damage, which is
exactly what a keyword classifier must not fall for.
"""
from __future__ import annotations

from collections.abc import Mapping

from couriers.sandbox.places import Place

STYLE_OF_CARRIER: Mapping[str, str] = {
    "sf": "sf", "sfky": "sf", "ems": "post", "chinapost": "post", "jd": "jd",
}  # everything else is "tongda"

PREFIX: Mapping[str, str] = {"tongda": "【{city}】", "sf": "[{city}]", "post": "", "jd": ""}

HUB_SUFFIX: Mapping[str, str] = {"tongda": "转运中心", "sf": "中转场", "post": "邮件处理中心",
                                 "jd": "分拣中心"}

_CORE: Mapping[str, Mapping[str, str]] = {
    "tongda": {
        "pickup": "{outlet} 已揽收，揽收员：{courier}（{phone}）",
        "leave_outlet": "快件离开 {outlet} 已发往 {next}",
        "hub_arrive": "快件已到达【{hub}】",
        "hub_leave": "快件离开 {hub} 已发往 {next}",
        "outlet_arrive": "快件已到达 {outlet}",
        "deliver": "快件派送中，派件员：{courier}，电话：{phone}{notice}",
        "signed_self": "快件已签收（本人），感谢使用{brand}，期待再次为您服务。如有疑问请联系派件员{courier}：{phone}",
        "signed_locker": "已签收，签收人凭取货码签收。感谢使用{brand}，期待再次为您服务",
    },
    "sf": {
        "pickup": "顺丰速运 已收取快件",
        "leave_outlet": "快件在【{outlet}】完成分拣，准备发往 【{next}】",
        "hub_arrive": "快件到达 【{hub}】",
        "hub_leave": "快件在【{hub}】完成分拣，准备发往 【{next}】",
        "outlet_arrive": "快件到达 【{outlet}】",
        "deliver": "快件交给{courier}，正在派送途中（联系电话：{phone}）{notice}",
        "signed_self": "快件已签收，签收人：本人，感谢使用顺丰，期待再次为您服务",
        "signed_locker": "已签收，签收人凭取件码签收，感谢使用顺丰，期待再次为您服务",
    },
    "post": {
        "pickup": "【{outlet}】已收寄，揽投员：{courier}，电话：{phone}",
        "leave_outlet": "离开【{outlet}】，下一站【{next}】",
        "hub_arrive": "到达【{hub}】",
        "hub_leave": "离开【{hub}】，下一站【{next}】",
        "outlet_arrive": "到达【{outlet}】",
        "deliver": "【{outlet}】安排投递，投递员：{courier}，电话：{phone}{notice}",
        "signed_self": "已妥投，签收人：本人，投递员：{courier}，电话：{phone}",
        "signed_locker": "已妥投，邮件已由{locker}代收，签收人凭取件码签收",
    },
    "jd": {
        "pickup": "您的快件已由【{outlet}】揽收，揽收员：{courier}",
        "leave_outlet": "您的快件已从【{outlet}】发出，发往【{next}】",
        "hub_arrive": "您的快件已到达【{hub}】",
        "hub_leave": "您的快件在【{hub}】分拣完成，发往【{next}】",
        "outlet_arrive": "您的快件已到达【{outlet}】",
        "deliver": "配送员【{courier}】正在为您配送，电话：{phone}{notice}",
        "signed_self": "您的快件已签收，签收人：本人，感谢您使用京东物流",
        "signed_locker": "您的快件已由{locker}代收，签收人凭取件码签收，感谢您使用京东物流",
    },
}

_SHARED: Mapping[str, str] = {
    "locker": "您的快件已放入{locker}，取件码{pickup_code}，请及时取件。如有疑问请联系派件员{courier}：{phone}",
    "signed_proxy": "快件已签收，签收人：{proxy}代签。如有疑问请联系派件员{courier}：{phone}",
    "signed_retry": "快件已签收（本人），前次派送未成功已再次派送。如有疑问请联系派件员{courier}：{phone}",
    "failed": "快件派送不成功，原因：{reason}，将安排再次派送，派件员：{courier}，电话：{phone}",
    "unreachable": "派件员{courier}多次电话联系收件人未接通，快件暂存{outlet}，请联系：{phone}",
    "out_of_area": "收件地址超出{outlet}派送范围，无法派送，快件将退回寄件人",
    "held": "受运力紧张影响，快件在【{hub}】滞留，将尽快发出，给您带来不便敬请谅解",
    "damaged": "快件外包装破损，已联系寄件人，网点已拍照留存",
    "pickup_overdue": "您的快件在{locker}超时未取，请尽快取件，逾期将退回寄件人",
    "refused": "收件人拒收，原因：{reason}，快件将退回寄件人",
    "return_start": "快件已退回，退回原因：{reason}，正在退往 {next}",
    "returned": "退回件已签收，签收人：寄件人本人",
}

SURNAMES = "张王李赵刘陈杨黄周吴徐孙马朱胡郭何林罗高"
GIVEN_NAMES = ("伟", "芳", "强", "磊", "军", "洋", "勇", "杰", "涛", "明", "超", "秀英", "建华",
               "海燕", "志强", "晓东", "丽娟", "国庆")
PROXIES = ("家人", "门卫", "前台", "同事", "物业")
LOCKERS = ("菜鸟驿站（{community}店）", "丰巢智能柜（{community}）", "兔喜生活（{community}店）",
           "妈妈驿站（{community}）")
COMMUNITIES = ("阳光花园", "锦绣小区", "幸福里", "翠苑一区", "金色家园", "东方花城", "枫林苑",
               "学府路", "和平新村")
FAIL_REASONS = ("收件人不在家，约定改日派送", "地址不详，正在核实", "小区门禁无法进入")
REFUSE_REASONS = ("不想要了", "商品与描述不符", "重复购买", "未购买此商品")
NOTICES = ("，如有破损请当场拒收", "，签收前请验货，外包装破损请拒收")  # boilerplate, not damage


def style_of(carrier: str) -> str:
    return STYLE_OF_CARRIER.get(carrier, "tongda")


def template(style: str, kind: str) -> str:
    """The wording of one journey step, city prefix included."""
    return PREFIX[style] + (_CORE[style].get(kind) or _SHARED[kind])


def hub_name(style: str, hub_city: str) -> str:
    return hub_city + HUB_SUFFIX[style]


def outlet_name(style: str, place: Place, delivering: bool) -> str:
    """The courier's local branch: 浙江杭州西湖区公司 when collecting, 杭州西湖区营业部 when delivering."""
    if style == "post":
        return f"{place.city}{place.district}揽投部"
    if style == "sf":
        return f"{place.city_short}{place.district}营业点"
    if style == "tongda" and not delivering:
        return f"{place.province}{place.city_short}{place.district}公司"
    return f"{place.city_short}{place.district}营业部"
