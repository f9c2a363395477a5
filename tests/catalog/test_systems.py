"""Systems: the boxes chips come in, and the ids validation records use."""
from __future__ import annotations

import pytest

from suanli.errors import UnknownIdError


@pytest.mark.parametrize("sid", ["gb200-nvl72", "gb300-nvl72", "cloudmatrix-384"])
def test_validation_system_ids_resolve(catalog, sid):
    s = catalog.system(sid)
    assert s.chips == s.scaleup_domain_chips
    assert catalog.accelerator(s.hardware)


@pytest.mark.parametrize("hw,expected", [("h200-sxm", "hgx-h200"), ("h100-sxm", "hgx-h100"), ("h800-sxm", "hgx-h800"),
                                         ("h20", "hgx-h20"), ("b200", "hgx-b200"), ("b300", "hgx-b300"),
                                         ("mi300x", "amd-mi300x-8"), ("mi325x", "amd-mi325x-8"),
                                         ("mi355x", "amd-mi355x-8")])
def test_hgx8_alias_resolves_per_hardware(catalog, hw, expected):
    s = catalog.system("hgx-8", hardware=hw)
    assert s.id == expected and s.chips == 8 and s.hardware == hw


def test_hgx8_for_domestic_card_is_a_generic_node(catalog):
    s = catalog.system("hgx-8", hardware="mtt-s4000")
    assert s.kind == "generic" and s.hardware == "mtt-s4000" and s.confidence == "estimate"
    # MTT S4000 lists 240 GB/s MTLink, direction unstated: taken as 120 per direction (> PCIe Gen4's 32)
    assert s.scaleup_bw_unidir_gbps.value == pytest.approx(120)
    pcie = catalog.system("hgx-8", hardware="iluvatar-bi-v100")
    assert pcie.scaleup_bw_unidir_gbps.value == 32


def test_cloudmatrix_is_a_384_chip_all_to_all_domain(catalog):
    cm = catalog.system("cloudmatrix-384")
    assert cm.chips == 384 and cm.scaleup_topology == "all-to-all" and cm.hardware == "ascend-910c"
    # 559 kW / 384 NPUs = 1.46 kW all-in per NPU (market_data.csv)
    assert cm.power_kw.value / cm.chips == pytest.approx(1.456, abs=0.01)


def test_nvlink_bandwidth_is_halved_per_direction(catalog):
    # 900 GB/s bidirectional NVLink 4 = 450 each way (accelerators.csv)
    assert catalog.system("hgx-h200").scaleup_bw_unidir_gbps.value == 450
    assert catalog.system("gb200-nvl72").scaleup_bw_unidir_gbps.value == 900


def test_unknown_system(catalog):
    with pytest.raises(UnknownIdError):
        catalog.system("nvl144")
    with pytest.raises(UnknownIdError):
        catalog.system("hgx-8")  # alias needs the hardware


@pytest.mark.parametrize("hw,domain,bw", [("h200-nvl", 4, 450), ("h100-pcie", 2, 300)])
def test_nvlink_bridge_cards_form_small_domains(catalog, hw, domain, bw):
    # an NVLink bridge joins 2 (H100 PCIe) or up to 4 (H200 NVL) cards, not the whole 8-card server:
    # 600 / 900 GB/s bidirectional per GPU over the bridge (NVIDIA), beyond it the server's slower path
    s = catalog.system("hgx-8", hardware=hw)
    assert s.chips == 8 and s.scaleup_domain_chips == domain
    assert s.scaleup_bw_unidir_gbps.value == bw and s.scaleout_bw_unidir_gbps.value < bw
